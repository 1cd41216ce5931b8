"""New uploads since the last pull: feed first (0 quota), playlist paging as fallback, videos.list details.

Groups of channels go through the refresh pump (refresh.pump), two groups fetched while the previous one
is written. Per group: feeds in threads, one anti-join for the feed ids not stored yet, a playlist walk
only where the feed failed or overflowed (all 15 entries new), videos.list over 50-id batches across
channels, then one transaction: one executemany UPDATE of uploads_checked_at/last_upload_at (locking the
channels) and an insert of the videos not stored for their channel yet, matched on (channel_id, video_id)
as the gallery app stores them. Re-runs never duplicate a video.
"""

from __future__ import annotations

import gc
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from threading import Lock

from sqlalchemy import Engine

from channel_assets.cycle import Cycle
from channel_assets.db.audit.update_log import AuditEvent, log_run_stop, write_events
from channel_assets.db.core.batching import chunks
from channel_assets.db.core.engine import transaction
from channel_assets.db.refresh.selection import upload_candidate_rows
from channel_assets.db.refresh.uploads import (
    NewVideo,
    insert_new_videos,
    mark_uploads_checked,
    stored_among,
    unstored_pairs,
)
from channel_assets.refresh.error_types import DATABASE_BUSY, error_type_of
from channel_assets.refresh.pump import Grouping, Pump, Stopped
from channel_assets.refresh.quota_gate import CountingGate
from channel_assets.refresh.tiers import PRIORITY_INTERVAL, interval_for
from channel_assets.youtube import (
    MAX_IDS_PER_CALL,
    VideoRecord,
    YouTubeClient,
    YouTubeError,
    is_valid_channel_id,
    one_line,
)

FEED_SIZE = 15
MAX_PLAYLIST_PAGES = 20
GROUP_SIZE = 250
# Groups fetched at once: one is fetched (feeds, anti-join, playlist walks, details) while the other waits
# on its feeds, and both overlap the previous group's write.
GROUPS_AHEAD = 2


@dataclass
class UploadsSummary:
    candidates: int = 0
    checked: int = 0
    feed_hits: int = 0
    feed_failures: int = 0
    overflows: int = 0
    playlist_pages: int = 0
    video_calls: int = 0
    videos_added: int = 0
    failed: int = 0
    deferred: int = 0
    quota_units: int = 0
    stopped_by_quota: str | None = None
    stopped_by_circuit: str | None = None
    wall_s: float = 0.0
    failures: list[tuple] = field(default_factory=list)

    @property
    def units_per_channel(self) -> float:
        return round(self.quota_units / self.checked, 4) if self.checked else 0.0


@dataclass(frozen=True)
class Discovery:
    """What one channel's check found, and how: from the feed alone, or by walking `pages` playlist pages
    because the feed overflowed (every entry new) or failed."""

    videos: list[tuple[str, datetime | None]]
    source: str  # "feed", "overflow" or "fallback"
    pages: int = 0


@dataclass
class _Channel:
    uuid: uuid.UUID
    channel_id: str
    playlist: str
    checked_at: datetime | None
    last_upload_at: datetime | None


@dataclass
class _Group:
    """One group's answer: what each checked channel found, the details of its new videos, the failures."""

    channels: list[_Channel]
    found: dict[str, tuple[_Channel, Discovery, bool]] = field(default_factory=dict)  # id -> (…, feed ok)
    failures: dict[str, tuple[_Channel, YouTubeError]] = field(default_factory=dict)
    details: dict[str, VideoRecord] = field(default_factory=dict)
    video_calls: int = 0
    units: int = 0
    ms: int = 0
    _lock: Lock = field(default_factory=Lock)

    def add_units(self, units: int) -> None:
        with self._lock:
            self.units += units

    def add_video_call(self) -> None:
        with self._lock:
            self.video_calls += 1


def select_upload_candidates(engine: Engine, shards: Sequence[int], now: datetime,
                             channel_ids: Sequence[str] | None = None) -> list[_Channel]:
    """Available channels whose uploads were never checked or are older than their tier interval; named
    `channel_ids` (a forced refresh) are checked now whatever their tier and last check."""
    forced = channel_ids is not None
    out = []
    for r in upload_candidate_rows(engine, shards, now if forced else now - PRIORITY_INTERVAL, channel_ids):
        if not is_valid_channel_id(r.channel_id):  # a malformed row of the gallery app: skipped
            continue
        due = forced or r.uploads_checked_at is None or r.uploads_checked_at <= now - interval_for(
            r.update_frequency, r.is_priority, r.is_critical)
        if due:
            out.append(_Channel(r.uuid, r.channel_id, r.uploads_playlist_id or "UU" + r.channel_id[2:],
                                r.uploads_checked_at, r.last_upload_at))
    return out


class _Uploads:
    def __init__(self, engine, client: YouTubeClient, gate: CountingGate, cycle: Cycle, in_flight: int) -> None:
        self.engine, self.client, self.gate, self.cycle = engine, client, gate, cycle
        self.api_pool = ThreadPoolExecutor(max(in_flight, 1), thread_name_prefix="uploads")
        # Feeds cost no quota: their own pool, sized by the client's feed concurrency, not the API cap.
        self.feed_pool = ThreadPoolExecutor(max(client.feeds_in_flight, 1), thread_name_prefix="feeds")
        self.pump: Pump[list[_Channel], _Group] = Pump(self.fetch_group, self.write_groups, self.give_up,
                                                       in_flight=GROUPS_AHEAD, grouping=Grouping(), name="uploads")
        self.summary = UploadsSummary()

    def close(self) -> None:
        """The pump's threads first (they use the feed and API pools), then the pools."""
        try:
            self.pump.close()
        finally:
            self.feed_pool.shutdown(wait=True, cancel_futures=True)
            self.api_pool.shutdown(wait=True)

    # -- API side (the pump's fetch threads, fanning out to the feed and API pools) ------------
    def _api(self, group: _Group, fn, *args):
        """One API call of the group through the pump (quota and breaker stops), its units counted."""
        before = self.gate.thread_units()
        try:
            return self.pump.call(fn, *args)
        finally:
            group.add_units(self.gate.thread_units() - before)

    def _walk_playlist(self, group: _Group, ch: _Channel, max_pages: int) -> tuple[list[tuple[str, datetime | None]], int]:
        """Newest-first pages until a stored video id shows up (or the cap)."""
        found: list[tuple[str, datetime | None]] = []
        token, pages = None, 0
        while pages < max_pages:
            page = self._api(group, self.client.list_playlist_items, ch.playlist, token, MAX_IDS_PER_CALL)
            pages += 1
            known = stored_among(self.engine, ch.uuid, {(ch.channel_id, vid) for vid in page.video_ids})
            for vid in page.video_ids:
                if (ch.channel_id, vid) in known:
                    return found, pages
                found.append((vid, page.published.get(vid)))
            token = page.next_page_token
            if not token:
                break
        return found, pages

    @staticmethod
    def _from_feed(ch: _Channel, feed, unstored: set[tuple[str, str]]) -> Discovery | None:
        """What the feed alone tells (no API call), or None when the playlist must be walked: the feed
        failed, or overflowed (every one of its 15 entries new on an already checked channel)."""
        if not feed.ok:
            return None
        new = [(e.video_id, e.published) for e in feed.entries if (ch.channel_id, e.video_id) in unstored]
        if ch.checked_at is None or len(feed.entries) < FEED_SIZE or len(new) < len(feed.entries):
            return Discovery(new, "feed")
        return None

    def _discover(self, group: _Group, ch: _Channel, feed) -> Discovery:
        """The playlist walk for a channel whose feed cannot tell (see ``_from_feed``)."""
        if feed.ok:
            found, pages = self._walk_playlist(group, ch, MAX_PLAYLIST_PAGES)
            return Discovery(found, "overflow", pages)
        found, pages = self._walk_playlist(group, ch, 1 if ch.checked_at is None else MAX_PLAYLIST_PAGES)
        return Discovery(found, "fallback", pages)

    def fetch_group(self, channels: list[_Channel]) -> _Group:
        group, start = _Group(channels), time.perf_counter()
        feeds = list(self.feed_pool.map(self.client.fetch_feed, [ch.channel_id for ch in channels]))
        unstored = unstored_pairs(self.engine, {(ch.channel_id, e.video_id)
                                                for ch, feed in zip(channels, feeds, strict=True) if feed.ok
                                                for e in feed.entries})
        # New ids from the feed are found here; only the channels needing a playlist walk (API calls) go
        # to the pool (a thread hand-off per channel was a measurable share of the pass's CPU).
        from_feed = {ch.channel_id: self._from_feed(ch, feed, unstored) for ch, feed in zip(channels, feeds, strict=True)}
        walks = {ch.channel_id: self.api_pool.submit(self._discover, group, ch, feed)
                 for ch, feed in zip(channels, feeds, strict=True) if from_feed[ch.channel_id] is None}
        for ch, feed in zip(channels, feeds, strict=True):
            try:
                discovery = from_feed[ch.channel_id] or walks[ch.channel_id].result()
            except Stopped:  # the quota or the breaker stopped the pump: this channel waits for the next run
                continue
            except YouTubeError as exc:
                group.failures[ch.channel_id] = (ch, exc)
                continue
            group.found[ch.channel_id] = (ch, discovery, feed.ok)
        video_ids = [vid for _, discovery, _ in group.found.values() for vid, _ in discovery.videos]
        for found in self.api_pool.map(lambda ids: self._detail_batch(group, ids), chunks(video_ids, MAX_IDS_PER_CALL)):
            group.details |= found
        group.ms = int((time.perf_counter() - start) * 1000)
        return group

    def _detail_batch(self, group: _Group, ids: Sequence[str]) -> dict[str, VideoRecord]:
        """One videos.list call; a failed one costs only its own 50 videos' details (best effort: the id
        and date from the feed or playlist are stored, details come later). Once the quota is gone the
        details are skipped, the videos still stored (else the units spent on the group were wasted)."""
        try:
            found = self._api(group, self.client.list_videos, list(ids)).found
        except (Stopped, YouTubeError):
            return {}
        group.add_video_call()
        return found

    # -- DB side (the pump's writer) ------------------------------------------------------------
    def _log(self, status: str, channel: _Channel | None = None, **fields) -> AuditEvent:
        return AuditEvent.of(self.cycle, "uploads", status, channel and channel.uuid, channel and channel.channel_id,
                             **fields)

    def write_groups(self, groups: list[_Group]) -> None:
        """One group per transaction (the pump's default grouping hands them over one at a time, so a
        retried write never repeats a committed one)."""
        (group,) = groups
        self._write(group)

    def give_up(self, groups: list[_Group], exc: BaseException) -> None:
        """Groups the database kept refusing (lock or statement timeouts, deadlocks): nothing of them was
        written, so their channels wait for the next run, uncharged; one row tells the units they spent."""
        for group in groups:
            log_run_stop(self.engine, self.cycle, "uploads", DATABASE_BUSY, one_line(exc), len(group.channels),
                         units=group.units)
            self.summary.quota_units += group.units

    def _write(self, group: _Group) -> None:
        now = self.cycle.now
        videos: list[NewVideo] = []
        logs: list[AuditEvent] = []
        latest_by_channel: dict[str, datetime | None] = {}
        for ch, discovery, _ in group.found.values():
            latest = ch.last_upload_at
            for vid, published in discovery.videos:
                rec = group.details.get(vid)
                published = rec.published_at if rec and rec.published_at else published
                videos.append(NewVideo(ch.uuid, ch.channel_id, vid, published, *(
                    (rec.title, rec.description, rec.duration_seconds, rec.view_count) if rec else ())))
                if published and (latest is None or published > latest):
                    latest = published
            latest_by_channel[ch.channel_id] = latest
            if discovery.videos:
                logs.append(self._log("success", ch, changes={"videos_found": [vid for vid, _ in discovery.videos][:50]}))
        logs += [self._log("failed", ch, error=one_line(exc), error_type=error_type_of(exc))
                 for ch, exc in group.failures.values()]
        deferred = len(group.channels) - len(group.found) - len(group.failures)
        counts = {"checked": len(group.found), "videos_found": len(videos), "failed": len(group.failures),
                  "deferred": deferred}
        error_type = error = None
        if deferred:  # the pump stopped during this group: its unchecked channels wait for the next run
            counts |= {"charged": 0, "why_not_charged": "the run stopped (quota or circuit breaker): deferred to "
                                                        "the next run, no failure counted"}
        if group.failures:
            first = next(iter(group.failures.values()))[1]
            error_type, error = error_type_of(first), f"{len(group.failures)} channel(s) failed, e.g. {one_line(first)}"
        elif deferred and group.units:  # its own calls met the stop
            error_type, error = self.pump.stop_reason()
        logs.append(self._log("success" if error is None else "failed", changes={"batch": counts}, error=error,
                              error_type=error_type, quota_units=group.units, processing_ms=group.ms))
        with transaction(self.engine) as conn:
            mark_uploads_checked(conn, latest_by_channel, now)  # first: locks the channels (see there)
            added = insert_new_videos(conn, videos, now) if videos else 0
            write_events(conn, logs)
        s = self.summary
        s.videos_added += added
        s.checked += len(group.found)
        s.failed += len(group.failures)
        s.quota_units += group.units
        s.video_calls += group.video_calls
        for _, discovery, feed_ok in group.found.values():
            s.feed_hits += feed_ok
            s.feed_failures += not feed_ok
            s.overflows += discovery.source == "overflow"
            s.playlist_pages += discovery.pages
        s.failures += [(cid, one_line(exc)) for cid, (_, exc) in group.failures.items()][: 50 - len(s.failures)]


@contextmanager
def _live_objects_frozen() -> Iterator[None]:
    """Keep the objects alive before the pass out of the cyclic GC's full collections during it.

    Each feed's parse allocates ~500 GC-tracked elements, so the pass triggers many collections, and a
    Dagster run process holds ~250k long-lived objects that every full collection walked: ~10% of the
    pass's CPU (measured with gc.callbacks). ``gc.freeze`` parks them in the permanent generation; they
    go back to the oldest generation when the pass ends (objects are never lost, only not scanned)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def refresh_uploads(engine: Engine, client: YouTubeClient, gate: CountingGate, cycle: Cycle,
                    shards: Sequence[int], *, in_flight: int = 16, channel_ids: Sequence[str] | None = None,
                    group_size: int = GROUP_SIZE) -> UploadsSummary:
    """Check the shards' due channels for new uploads; stops cleanly when the quota share is spent."""
    with _live_objects_frozen():
        return _refresh_uploads(engine, client, gate, cycle, shards, in_flight, channel_ids, group_size)


def _refresh_uploads(engine: Engine, client: YouTubeClient, gate: CountingGate, cycle: Cycle,
                     shards: Sequence[int], in_flight: int, channel_ids: Sequence[str] | None,
                     group_size: int) -> UploadsSummary:
    start = time.perf_counter()
    candidates = select_upload_candidates(engine, shards, cycle.now, channel_ids)
    worker = _Uploads(engine, client, gate, cycle, in_flight)
    worker.summary.candidates = len(candidates)
    try:
        worker.pump.run([candidates[i : i + group_size] for i in range(0, len(candidates), group_size)])
    finally:
        worker.close()
        gate.release()  # the unused rest of the quota block goes back to the ledger
    s = worker.summary
    s.deferred = len(candidates) - s.checked - s.failed
    s.stopped_by_quota, s.stopped_by_circuit = worker.pump.stopped.quota, worker.pump.stopped.circuit
    worker.pump.record_circuit_stop(engine, cycle, "uploads", s.deferred)
    s.wall_s = round(time.perf_counter() - start, 3)
    return s
