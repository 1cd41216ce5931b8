"""Video metadata refresh: due videos re-read in 50-id videos.list batches, written set-based.

The batches go through the refresh pump (refresh.pump) like the channels': calls in a thread pool,
answers written in groups of up to MAX_GROUP batches, each group in one transaction
(db.videos.writes.apply_video_answers) that never stays open across a call; a write the database
refuses is retried by the pump and, refused every time, left for the next run. One update-log row per
batch attempt (its counts, its units, old→new of changed titles and descriptions) and one per video that
went or came back. A video an answer says is gone is asked again in the same run (in full calls during
the first pass as the suspects add up, the last few in a short second pass at its end) and only then
marked unavailable.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from threading import Lock

from sqlalchemy import Engine

from channel_assets.cycle import Cycle
from channel_assets.db.audit.update_log import AuditEvent, log_run_stop
from channel_assets.db.core.engine import transaction
from channel_assets.db.refresh.selection import count_due_channels
from channel_assets.db.videos.selection import DueVideo, DueVideos, select_due_videos
from channel_assets.db.videos.tiering import VideoTierRules
from channel_assets.db.videos.writes import (
    AnsweredBatch,
    BatchOutcome,
    apply_video_answers,
    write_batch_events,
)
from channel_assets.refresh.collector import quiet_collector
from channel_assets.refresh.error_types import DATABASE_BUSY, INVALID_DATA, error_type_of
from channel_assets.refresh.pump import Grouping, Pump
from channel_assets.refresh.quota_gate import CountingGate
from channel_assets.youtube import (
    MAX_IDS_PER_CALL,
    VideoDetailsBatch,
    YouTubeClient,
    YouTubeError,
    is_valid_video_id,
    one_line,
)

UPDATE_TYPE = "video_metadata"
AVAILABILITY_TYPE = "video_availability"
# Larger groups than the channels' (20 batches): a video row is written only when it changed and the
# statement's fixed cost is spread over up to 5,000 rows; still well under a second per transaction.
MAX_GROUP = 100
MIN_GROUP = 8
MAX_GROUP_WAIT_S = 0.25
WRITERS = 2
MAX_LISTED = 50


@dataclass
class VideoRefreshSummary:
    due: int = 0
    attempted: int = 0
    answered: int = 0  # found or missing in an answer (first pass)
    written: int = 0  # rows whose stored values changed
    title_changes: int = 0
    description_changes: int = 0
    suspected: int = 0  # first pass said gone: asked again
    went: int = 0
    came_back: int = 0
    still_gone: int = 0
    invalid: int = 0
    failed: int = 0  # ids of failed calls (due again next run)
    deferred: dict[str, int] = field(default_factory=dict)
    quota_units: int = 0
    batches: int = 0
    channel_units_reserved: int = 0  # left for due channels before any video was planned
    stopped_by_quota: str | None = None
    stopped_by_circuit: str | None = None
    wall_s: float = 0.0
    went_list: list[tuple] = field(default_factory=list)  # (video id, reason)
    came_back_list: list[tuple] = field(default_factory=list)  # (video id, old reason)
    failures: list[tuple] = field(default_factory=list)  # (first video id of the batch, error)

    @property
    def videos_per_unit(self) -> float:
        return round(self.answered / self.quota_units, 2) if self.quota_units else 0.0

    @property
    def videos_per_s(self) -> float:
        return round(self.attempted / self.wall_s, 1) if self.wall_s else 0.0

    @property
    def deferred_total(self) -> int:
        return sum(self.deferred.values())


@dataclass(frozen=True)
class _Batch:
    ids: list[str]  # the distinct video ids asked
    videos: list[tuple]  # (row uuid as its 16 bytes, video id)
    tiers: list[str]  # of each row, for the deferred counts
    second_pass: bool


@dataclass
class _Outcome:
    batch: _Batch
    answer: VideoDetailsBatch | None = None
    error: YouTubeError | None = None
    stopped: bool = False
    units: int = 0
    ms: int = 0


def _batches(videos: Iterable[DueVideo], second_pass: bool) -> Iterator[_Batch]:
    """Up to 50 distinct video ids per batch, built as the pump asks for them; every stored row of an id
    rides with it (the rows of one id are adjacent: db.videos.selection.DueVideos)."""
    for ids, rows, tiers in DueVideos.of(videos).id_batches(MAX_IDS_PER_CALL):
        yield _Batch(ids, rows, tiers, second_pass)


class _Refresher:
    def __init__(self, engine: Engine, client: YouTubeClient, gate: CountingGate, cycle: Cycle,
                 rules: VideoTierRules, in_flight: int) -> None:
        self.engine, self.client, self.gate, self.cycle, self.rules = engine, client, gate, cycle, rules
        self.summary = VideoRefreshSummary()
        self.unfinished: list[_Batch] = []
        # (row uuid, video id, tier) of committed first-pass answers saying gone, not yet asked again; the rows
        # of an id arrive together (they rode in one batch)
        self.to_confirm: list[tuple] = []
        self._lock = Lock()
        grouping = Grouping(min(MIN_GROUP, max(in_flight // 2, 1)), MAX_GROUP, MAX_GROUP_WAIT_S, WRITERS)
        self.pump: Pump[_Batch, _Outcome] = Pump(self.fetch, self.write, self.give_up, in_flight=in_flight,
                                                 grouping=grouping, name="videos")

    def fetch(self, batch: _Batch) -> _Outcome:
        call = self.pump.counted_call(self.gate, self.client.list_video_details, batch.ids)
        return _Outcome(batch, call.answer, call.error, call.stopped, call.units, call.ms)

    def write(self, outs: Sequence[_Outcome]) -> None:
        """One transaction for the group; once it committed, the rows to ask again go to `to_confirm`."""
        answered = [o for o in outs if o.answer is not None]
        start = time.perf_counter()
        with transaction(self.engine) as conn:
            results = apply_video_answers(conn, [
                AnsweredBatch(o.batch.videos, o.answer.found, o.answer.missing, o.answer.invalid, o.batch.second_pass)
                for o in answered], now=self.cycle.now, rules=self.rules)
            write_ms = int((time.perf_counter() - start) * 1000)
            by_out = dict(zip(map(id, answered), results, strict=True))
            batch_of = {id(o): n for n, o in enumerate(answered)}
            events = []
            for o in outs:
                if o.stopped and not o.units:
                    continue  # never called: nothing to tell
                summary, *availability = self._events(o, by_out.get(id(o)), write_ms)
                events += [(batch_of.get(id(o)), summary), *((None, e) for e in availability)]
            write_batch_events(conn, events)
        with self._lock:  # counted once committed: a group the pump retries is never counted twice
            for o in outs:
                self._count(o, by_out.get(id(o)))
                result = by_out.get(id(o))
                if result is not None and not o.batch.second_pass:
                    suspected = set(result.suspected)
                    self.to_confirm += [(u, vid, tier) for (u, vid), tier in
                                        zip(o.batch.videos, o.batch.tiers, strict=True) if vid in suspected]

    def _events(self, o: _Outcome, result: BatchOutcome | None, write_ms: int) -> list[AuditEvent]:
        ids = o.batch.ids
        counts = {"asked": len(ids), "found": 0, "missing": 0, "invalid": 0, "written": 0, "suspected": 0,
                  "went": 0, "came_back": 0, "failed": 0, "deferred": 0, "second_pass": o.batch.second_pass}
        error = error_type = None
        if o.answer is not None and result is not None:
            counts |= {"found": len(o.answer.found), "missing": len(o.answer.missing),
                       "invalid": len(o.answer.invalid), "written": result.written,
                       "suspected": len(set(result.suspected)), "went": len(result.went),
                       "came_back": len(result.came_back)}
            if o.answer.invalid:
                error_type = INVALID_DATA
                error = f"{len(o.answer.invalid)} video(s) answered invalid data, e.g. " + \
                    "; ".join(f"{vid}: {why}" for vid, why in list(o.answer.invalid.items())[:3])
        elif o.error is not None:
            counts["failed"] = len(ids)
            error, error_type = one_line(o.error), error_type_of(o.error)
        else:
            error_type, error = self.pump.stop_reason()
            counts |= {"deferred": len(ids), "charged": 0,
                       "why_not_charged": f"{error_type}: deferred to the next run, no failure counted"}
        events = [AuditEvent.of(self.cycle, UPDATE_TYPE, "success" if o.error is None and not o.stopped else "failed",
                                changes={"batch": counts},
                                error=error, error_type=error_type, quota_units=o.units,
                                processing_ms=o.ms + write_ms)]
        if result is not None:
            events += [AuditEvent.of(self.cycle, AVAILABILITY_TYPE, "success", changes={
                "video_id": vid, "unavailable_reason": [old, new]}) for vid, old, new in result.went]
            events += [AuditEvent.of(self.cycle, AVAILABILITY_TYPE, "success", changes={
                "video_id": vid, "unavailable_reason": [old, None]}) for vid, old in result.came_back]
        return events

    def _count(self, o: _Outcome, result: BatchOutcome | None) -> None:
        s = self.summary
        s.quota_units += o.units
        if o.stopped:
            self.unfinished.append(o.batch)
            return
        s.batches += 1
        first = not o.batch.second_pass
        if first:
            s.attempted += len(o.batch.ids)
        if o.error is not None:
            s.failed += len(o.batch.ids)
            if len(s.failures) < MAX_LISTED:
                s.failures.append((o.batch.ids[0], one_line(o.error)))
            return
        if result is None:
            return
        if first:
            s.answered += len(o.answer.found) + len(o.answer.missing)
            s.suspected += len(set(result.suspected))
        s.invalid += len(o.answer.invalid)
        s.written += result.written
        s.title_changes += result.title_changes
        s.description_changes += result.description_changes
        s.went += len(result.went)
        s.came_back += len(result.came_back)
        s.still_gone += result.still_gone
        s.went_list += [(vid, new) for vid, _, new in result.went][: max(MAX_LISTED - len(s.went_list), 0)]
        s.came_back_list += result.came_back[: max(MAX_LISTED - len(s.came_back_list), 0)]

    def give_up(self, outs: Sequence[_Outcome], exc: BaseException) -> None:
        """A group the database kept refusing: nothing of it was written, its videos wait for the next run."""
        units = sum(o.units for o in outs)
        log_run_stop(self.engine, self.cycle, UPDATE_TYPE, DATABASE_BUSY, one_line(exc),
                     sum(len(o.batch.videos) for o in outs), units=units)
        with self._lock:
            self.unfinished += [o.batch for o in outs]
            self.summary.quota_units += units

    def _take_to_confirm(self, whole_batches: bool) -> DueVideos:
        """The rows waiting for their second answer: all of them, or (`whole_batches`) those of the first
        multiple of 50 ids, so a second-pass call made during the first pass is a full one."""
        with self._lock:
            if whole_batches and len(self.to_confirm) < MAX_IDS_PER_CALL:
                return DueVideos()
            rows = DueVideos(self.to_confirm)
            ids = rows.distinct_ids()
            take = rows.rows_of_first_ids(ids - ids % MAX_IDS_PER_CALL) if whole_batches else len(rows)
            del self.to_confirm[:take]
        return rows[:take]

    def _first_pass(self, videos: DueVideos) -> Iterator[_Batch]:
        """The first pass's batches, with the second-pass batches of what it has found gone so far slipped in
        as soon as they fill a call: their second answer overlaps the first pass instead of waiting for its
        end (at 1M videos, ~9,500 suspected rows were a 3-4 s tail with one core idle)."""
        for batch in _batches(videos, False):
            yield batch
            yield from _batches(self._take_to_confirm(whole_batches=True), True)

    def run(self, videos: DueVideos) -> VideoRefreshSummary:
        start = time.perf_counter()
        try:
            first = self.pump.run(self._first_pass(videos))
            second = self.pump.run(_batches(self._take_to_confirm(whole_batches=False), True))
        finally:
            self.pump.close()
        self.unfinished += [b for result in (first, second) for b in result.unfinished]
        s = self.summary
        s.stopped_by_quota = self.pump.stopped.quota
        s.stopped_by_circuit = self.pump.stopped.circuit
        rows = {row: tier for b in self.unfinished for row, tier in zip(b.videos, b.tiers, strict=True)}
        s.deferred = dict(sorted(Counter(rows.values()).items()))
        self.pump.record_circuit_stop(self.engine, self.cycle, UPDATE_TYPE, len(rows))
        s.wall_s = round(time.perf_counter() - start, 3)
        return s


def refresh_videos(engine: Engine, client: YouTubeClient, gate: CountingGate, cycle: Cycle,
                   videos: Iterable[DueVideo], rules: VideoTierRules, *, in_flight: int = 16) -> VideoRefreshSummary:
    """Refresh exactly these videos (in the given order); the gate's unused units go back at the end. Rows
    whose video id has the wrong shape (written by the app; the API cannot know them) are counted as
    invalid and never sent: one bad row must not fail its batch, let alone the run."""
    videos = DueVideos.of(videos)
    valid = videos.keeping_ids(is_valid_video_id)
    if len(valid) < len(videos):
        bad = next(v.video_id for v in videos if not is_valid_video_id(v.video_id))
        logging.getLogger(__name__).warning("skipped %d video row(s) with a malformed video id, e.g. %r",
                                            len(videos) - len(valid), str(bad)[:40])
    try:
        summary = _Refresher(engine, client, gate, cycle, rules, in_flight).run(valid)
    finally:
        gate.release()
    summary.invalid += len(videos) - len(valid)
    return summary


def plan_within_budget(videos: DueVideos, units_left: int) -> tuple[DueVideos, dict[str, int]]:
    """Take videos in priority order while the units last, keeping one unit for the second pass."""
    ids = videos.distinct_ids()
    if math.ceil(ids / MAX_IDS_PER_CALL) <= units_left:
        return videos, {}
    batches = max(units_left - 1, 0) if units_left > 1 else units_left
    take = videos.rows_of_first_ids(batches * MAX_IDS_PER_CALL)
    return videos[:take], videos[take:].tier_counts()


@quiet_collector()  # reading a million due rows churns as much as refreshing them
def refresh_video_shards(engine: Engine, client: YouTubeClient, gate: CountingGate, cycle: Cycle,
                         shards: Sequence[int], rules: VideoTierRules, *, in_flight: int = 16) -> VideoRefreshSummary:
    """One cycle's video refresh over the shards, after the channels: the units the still-due channels
    need (1 per 50) are left for them first, then the video gate's own cap applies (`gate` must sit on a
    ledger with a video limit: QuotaLedger(video_limit=...))."""
    due = select_due_videos(engine, shards, cycle.now, rules)
    channel_units = math.ceil(count_due_channels(engine, cycle.now) / MAX_IDS_PER_CALL)
    status = gate.status()
    overall_left = 0 if status.exhausted else max(status.limit - status.reserved, 0)
    units = max(min(status.left, overall_left - channel_units), 0)
    planned, deferred = plan_within_budget(due, units)
    summary = refresh_videos(engine, client, gate, cycle, planned, rules, in_flight=in_flight)
    summary.due = len(due)
    summary.channel_units_reserved = channel_units
    for tier, n in deferred.items():
        summary.deferred[tier] = summary.deferred.get(tier, 0) + n
    if deferred and not summary.stopped_by_quota:
        summary.stopped_by_quota = (f"the video quota left ({units} units after {channel_units} kept for due "
                                    f"channels) could not cover every due video")
    return summary
