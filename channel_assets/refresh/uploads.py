"""New uploads since the last pull: feed first (0 quota), playlist paging as fallback, videos.list details.

Per group of channels: feeds in threads, one anti-join for the feed ids not stored yet, a playlist walk only
where the feed failed or overflowed (all 15 entries new), videos.list over 50-id batches across
channels, then one transaction: one executemany UPDATE of uploads_checked_at/last_upload_at (locking the
channels) and an insert of the videos not stored for their channel yet, matched on (channel_id, video_id)
as the gallery app stores them. Re-runs never duplicate a video.
"""

from __future__ import annotations

import gc
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from channel_assets.db.audit.update_log import AuditEvent, log_run_stop, write_events
from channel_assets.db.core.batching import chunks
from channel_assets.db.core.engine import transaction
from channel_assets.db.refresh.selection import upload_candidate_rows
from channel_assets.db.refresh.uploads import (
    insert_new_videos,
    mark_uploads_checked,
    stored_among,
    unstored_pairs,
)
from channel_assets.refresh.error_types import CIRCUIT_OPEN, error_type_of
from channel_assets.refresh.quota_gate import CountingGate
from channel_assets.refresh.tiers import PRIORITY_INTERVAL, interval_for
from channel_assets.youtube import (
    MAX_IDS_PER_CALL,
    CircuitOpen,
    ConfigurationError,
    QuotaExceeded,
    QuotaShareExhausted,
    VideoRecord,
    YouTubeClient,
    YouTubeError,
    is_valid_channel_id,
    one_line,
)

FEED_SIZE = 15
MAX_PLAYLIST_PAGES = 20
GROUP_SIZE = 250
ACTOR = "channel_uploads"


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


class _Stop(Exception):
    """Quota is gone: finish the current group's writes, check nothing more."""


@dataclass
class _Channel:
    uuid: uuid.UUID
    channel_id: str
    playlist: str
    checked_at: datetime | None
    last_upload_at: datetime | None


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
    def __init__(self, engine, client: YouTubeClient, gate: CountingGate, now: datetime, in_flight: int,
                 run_id: str | None) -> None:
        self.engine, self.client, self.gate, self.now = engine, client, gate, now
        self.pool = ThreadPoolExecutor(max(in_flight, 1), thread_name_prefix="uploads")
        # Feeds cost no quota: their own pool, sized by the client's feed concurrency, not the API cap.
        self.feed_pool = ThreadPoolExecutor(max(client.feeds_in_flight, 1), thread_name_prefix="feeds")
        self.run_id = run_id
        self.summary = UploadsSummary()

    def _api(self, fn, *args):
        try:
            return fn(*args)
        except (QuotaShareExhausted, QuotaExceeded) as exc:
            self.summary.stopped_by_quota = one_line(exc)
            raise _Stop from None
        except CircuitOpen as exc:  # the API is down, not the channels: stop like the quota, count nothing
            self.summary.stopped_by_circuit = self.summary.stopped_by_circuit or one_line(exc)
            raise _Stop from None

    def _walk_playlist(self, ch: _Channel, max_pages: int) -> tuple[list[tuple[str, datetime | None]], int]:
        """Newest-first pages until a stored video id shows up (or the cap)."""
        found: list[tuple[str, datetime | None]] = []
        token, pages = None, 0
        while pages < max_pages:
            page = self._api(self.client.list_playlist_items, ch.playlist, token, MAX_IDS_PER_CALL)
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

    def _discover(self, ch: _Channel, feed) -> Discovery:
        """The playlist walk for a channel whose feed cannot tell (see ``_from_feed``)."""
        if feed.ok:
            found, pages = self._walk_playlist(ch, MAX_PLAYLIST_PAGES)
            return Discovery(found, "overflow", pages)
        found, pages = self._walk_playlist(ch, 1 if ch.checked_at is None else MAX_PLAYLIST_PAGES)
        return Discovery(found, "fallback", pages)

    def fetch_feeds(self, group: list[_Channel]) -> list[Future]:
        return [self.feed_pool.submit(self.client.fetch_feed, ch.channel_id) for ch in group]

    def run_group(self, group: list[_Channel], feed_futures: list[Future]) -> None:
        units_before, start = self.gate.total, time.perf_counter()
        feeds = [f.result() for f in feed_futures]
        new: dict[str, list[tuple[str, datetime | None]]] = {}
        done: list[_Channel] = []
        failures: dict[str, tuple[_Channel, YouTubeError]] = {}
        stop = False
        unstored = unstored_pairs(self.engine, {(ch.channel_id, e.video_id)
                                           for ch, feed in zip(group, feeds, strict=True) if feed.ok
                                           for e in feed.entries})
        # New ids from the feed are found here; only the channels needing a playlist walk (API calls) go
        # to the pool (a thread hand-off per channel was a measurable share of the pass's CPU).
        from_feed = {ch.channel_id: self._from_feed(ch, feed, unstored) for ch, feed in zip(group, feeds, strict=True)}
        futures = {ch.channel_id: self.pool.submit(self._discover, ch, feed)
                   for ch, feed in zip(group, feeds, strict=True) if from_feed[ch.channel_id] is None}
        for ch, feed in zip(group, feeds, strict=True):
            try:
                discovery = from_feed[ch.channel_id] or futures[ch.channel_id].result()
            except _Stop:
                stop = True
                continue
            except ConfigurationError:
                raise
            except YouTubeError as exc:
                failures[ch.channel_id] = (ch, exc)
                continue
            self.summary.feed_hits += feed.ok
            self.summary.feed_failures += not feed.ok
            self.summary.overflows += discovery.source == "overflow"
            self.summary.playlist_pages += discovery.pages
            new[ch.channel_id] = discovery.videos
            done.append(ch)
        details = self._details([vid for found in new.values() for vid, _ in found])
        if details is None:  # quota gone while fetching details: keep what was found (ids and dates;
            stop = True      # details are best effort), else the units spent on the group are wasted
        self._write(done, new, details or {}, failures, self.gate.total - units_before,
                    int((time.perf_counter() - start) * 1000))
        self.summary.failed += len(failures)
        self.summary.failures += [(cid, one_line(exc)) for cid, (_, exc) in failures.items()][
            : 50 - len(self.summary.failures)]
        if stop:
            raise _Stop

    def _detail_batch(self, ids: list[str]) -> dict[str, VideoRecord]:
        """One videos.list call; a failed one costs only its own 50 videos' details (best effort: the id
        and date from the feed or playlist are stored, details come later)."""
        try:
            found = self._api(self.client.list_videos, ids).found
        except (_Stop, ConfigurationError):
            raise
        except YouTubeError:
            return {}
        self.summary.video_calls += 1
        return found

    def _details(self, video_ids: list[str]) -> dict[str, VideoRecord] | None:
        out: dict[str, VideoRecord] = {}
        try:
            for found in self.pool.map(self._detail_batch, [list(b) for b in chunks(video_ids, MAX_IDS_PER_CALL)]):
                out |= found
        except _Stop:
            return None
        return out

    def _log(self, channel_uuid, channel_id, status, *, changes=None, error=None, error_type=None, units=0,
             ms=None) -> AuditEvent:
        return AuditEvent("uploads", status, self.now, channel_uuid, channel_id, changes=changes, error=error,
                          error_type=error_type, quota_units=units, processing_ms=ms, run_id=self.run_id,
                          actor=ACTOR)

    def _write(self, done, new, details, failures, units: int, ms: int) -> None:
        now = self.now
        rows, logs = [], []
        latest_by_channel: dict[str, datetime | None] = {}
        for ch in done:
            found = new.get(ch.channel_id, [])
            latest = ch.last_upload_at
            for vid, published in found:
                rec = details.get(vid)
                published = (rec.published_at if rec and rec.published_at else published)
                rows.append({"uuid": uuid.uuid4(), "video_id": vid, "channel_id": ch.uuid,
                             "channel_id_snapshot": ch.channel_id, "title": rec.title if rec else "",
                             "description": rec.description if rec else "", "published_at": published,
                             "duration": rec.duration_seconds if rec else None,
                             "view_count": rec.view_count if rec else None, "created_at": now, "updated_at": now})
                if published and (latest is None or published > latest):
                    latest = published
            latest_by_channel[ch.channel_id] = latest
            if found:
                logs.append(self._log(ch.uuid, ch.channel_id, "success",
                                      changes={"videos_found": [vid for vid, _ in found][:50]}))
        logs += [self._log(ch.uuid, cid, "failed", error=one_line(exc), error_type=error_type_of(exc))
                 for cid, (ch, exc) in failures.items()]
        logs.append(self._log(None, None, "failed" if failures else "success", units=units, ms=ms, changes={
            "batch": {"checked": len(done), "videos_found": len(rows), "failed": len(failures)}}))
        with transaction(self.engine) as conn:
            mark_uploads_checked(conn, latest_by_channel, now)  # first: locks the channels (see there)
            if rows:
                self.summary.videos_added += insert_new_videos(conn, rows)
            write_events(conn, logs)
        self.summary.checked += len(done)
        self.summary.quota_units += units


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


def refresh_uploads(engine: Engine, client: YouTubeClient, gate: CountingGate, now: datetime,
                    shards: Sequence[int], *, in_flight: int = 16, run_id: str | None = None,
                    channel_ids: Sequence[str] | None = None, group_size: int = GROUP_SIZE) -> UploadsSummary:
    """Check the shards' due channels for new uploads; stops cleanly when the quota share is spent."""
    with _live_objects_frozen():
        return _refresh_uploads(engine, client, gate, now, shards, in_flight, run_id, channel_ids, group_size)


def _refresh_uploads(engine: Engine, client: YouTubeClient, gate: CountingGate, now: datetime,
                     shards: Sequence[int], in_flight: int, run_id: str | None,
                     channel_ids: Sequence[str] | None, group_size: int) -> UploadsSummary:
    start = time.perf_counter()
    candidates = select_upload_candidates(engine, shards, now, channel_ids)
    worker = _Uploads(engine, client, gate, now, in_flight, run_id)
    worker.summary.candidates = len(candidates)
    groups = [candidates[i : i + group_size] for i in range(0, len(candidates), group_size)]
    try:
        ahead = worker.fetch_feeds(groups[0]) if groups else []
        for k, group in enumerate(groups):
            feeds = ahead
            # the next group's feeds are fetched while this group is looked up, detailed and written
            ahead = worker.fetch_feeds(groups[k + 1]) if k + 1 < len(groups) else []
            try:
                worker.run_group(group, feeds)
            except _Stop:
                break
    finally:
        worker.feed_pool.shutdown(wait=True, cancel_futures=True)
        worker.pool.shutdown(wait=True)
        gate.release()  # the unused rest of the quota block goes back to the ledger
    worker.summary.deferred = len(candidates) - worker.summary.checked - worker.summary.failed
    if worker.summary.stopped_by_circuit:
        log_run_stop(engine, "uploads", now, CIRCUIT_OPEN, worker.summary.stopped_by_circuit, worker.summary.deferred,
                            run_id, ACTOR)
    worker.summary.wall_s = round(time.perf_counter() - start, 3)
    return worker.summary
