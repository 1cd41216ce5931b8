"""Channel metadata refresh: 50-id channels.list batches, set-based writes, audit log.

The batches go through the refresh pump (refresh.pump): calls in a thread pool, answers written in groups
of up to MAX_GROUP batches, each group in ONE transaction (db.refresh.channel_writes.apply_answers), so
a crash leaves whole batches and two runs of one shard converge (absolute values, counters read under
row locks taken in channel-id order). A successful answer that omits an id is only believed after a
second pass at the end of the run.
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from threading import Lock

from sqlalchemy import Engine

from channel_assets.cycle import Cycle
from channel_assets.db.audit.update_log import AuditEvent, log_run_stop, write_events
from channel_assets.db.core.batching import chunks
from channel_assets.db.core.engine import transaction
from channel_assets.db.refresh.channel_writes import (
    TOP_N,
    AppliedGroup,
    FailedAnswer,
    RefreshRules,
    apply_answers,
)
from channel_assets.db.refresh.selection import DueChannel, count_by_tier, select_due
from channel_assets.refresh.error_types import DATABASE_BUSY, INVALID_DATA, error_type_of
from channel_assets.refresh.pump import Grouping, Pump
from channel_assets.refresh.quota_gate import CountingGate
from channel_assets.refresh.tiers import (
    FAILURE_CAP,
    UNAVAILABLE_AT_CAP,
    UNAVAILABLE_RECHECK,
    failure_backoff,
    interval_for,
)
from channel_assets.youtube import (
    MAX_IDS_PER_CALL,
    ChannelBatch,
    ChannelRecord,
    YouTubeClient,
    YouTubeError,
    is_valid_channel_id,
    one_line,
)

MAX_GROUP = 20  # API batches (of 50 ids) written per transaction at most: 1,000 channels
# A transaction costs ~8 round trips whatever its size, each slow while 16 fetch threads hold the GIL;
# at 150 ms per call the writer, taking whatever was ready, wrote 522 groups of ~4 batches and spent
# 90% of the run in them. It now waits (briefly) for a few batches before it writes: up to
# min(MIN_GROUP, in_flight // 2), since no more than `in_flight` answers can arrive per round of calls.
MIN_GROUP = 8
MAX_GROUP_WAIT_S = 0.25
# Groups written at once, each in its own transaction and connection (a group's rows are its own: no
# two groups of a pass share a channel). At 0 ms the run waited on PostgreSQL's single backend for the
# writes (~75% of its refresh time in apply_answers); a second writer puts the other core to work.
WRITERS = 2
MAX_FAILURES_LISTED = 50
RULES = RefreshRules(interval_for, UNAVAILABLE_RECHECK, failure_backoff, FAILURE_CAP, UNAVAILABLE_AT_CAP)


@dataclass
class RefreshSummary:
    due: int = 0
    attempted: int = 0
    refreshed: int = 0
    changed: int = 0
    unchanged: int = 0
    missing_first_pass: int = 0
    gone: int = 0
    still_gone: int = 0
    restored: int = 0
    failed: int = 0
    invalid: int = 0
    deferred: dict[str, int] = field(default_factory=dict)
    quota_units: int = 0
    batches: int = 0
    stopped_by_quota: str | None = None
    stopped_by_circuit: str | None = None  # the client's breaker opened: the rest deferred, not failed
    wall_s: float = 0.0
    largest_changes: list[tuple] = field(default_factory=list)
    failures: list[tuple] = field(default_factory=list)

    @property
    def channels_per_unit(self) -> float:
        return round((self.refreshed + self.gone + self.still_gone) / self.quota_units, 2) if self.quota_units else 0.0

    @property
    def channels_per_s(self) -> float:
        return round(self.attempted / self.wall_s, 1) if self.wall_s else 0.0

    @property
    def deferred_total(self) -> int:
        return sum(self.deferred.values())


@dataclass
class _Outcome:
    ids: list[str]
    second_pass: bool
    batch: ChannelBatch | None = None
    error: YouTubeError | None = None
    stopped: bool = False  # the pump stopped (quota, breaker) before or during this batch's call
    units: int = 0
    ms: int = 0


@dataclass(frozen=True)
class _Batch:
    ids: list[str]
    second_pass: bool


class _Refresher:
    def __init__(self, engine: Engine, client: YouTubeClient, gate: CountingGate, cycle: Cycle,
                 in_flight: int) -> None:
        self.engine, self.client, self.gate, self.cycle = engine, client, gate, cycle
        self.summary = RefreshSummary()
        self.unfinished: list[str] = []
        self._changes: list[tuple] = []
        self._lock = Lock()
        grouping = Grouping(min(MIN_GROUP, max(in_flight // 2, 1)), MAX_GROUP, MAX_GROUP_WAIT_S, WRITERS)
        self.pump: Pump[_Batch, _Outcome] = Pump(self.fetch, self.write, self.give_up, in_flight=in_flight,
                                                 grouping=grouping, name="channels")

    # -- API side (the pump's fetch threads) ----------------------------------------------------
    def fetch(self, batch: _Batch) -> _Outcome:
        call = self.pump.counted_call(self.gate, self.client.list_channels, batch.ids)
        return _Outcome(batch.ids, batch.second_pass, call.answer, call.error, call.stopped, call.units, call.ms)

    # -- DB side (the pump's writers) -----------------------------------------------------------
    def write(self, outs: Sequence[_Outcome]) -> list[str]:
        """Apply a group of answered batches in one transaction; return the ids to confirm on the second pass.

        Each batch keeps its own summary log row (its exact quota units, what became of its ids, and for a
        failed call its error type and message), so grouping changes nothing in the audit log but the
        number of transactions. The run's summary is counted only once the group is committed: a group the
        pump retries (a lock timeout, a deadlock) is never counted twice."""
        found: dict[str, ChannelRecord] = {}
        gone: list[str] = []
        failed: dict[str, FailedAnswer] = {}
        to_confirm: list[str] = []
        batches: list[tuple[_Outcome, dict, str | None, str | None]] = []
        for out in outs:
            counts = {"asked": len(out.ids), "found": 0, "gone": 0, "missing": 0, "failed": 0, "deferred": 0,
                      "second_pass": out.second_pass}
            error = error_type = None
            if out.batch is not None:
                found |= out.batch.found
                counts["found"] = len(out.batch.found)
                failed |= {cid: FailedAnswer(f"invalid data: {reason}", INVALID_DATA)
                           for cid, reason in out.batch.invalid.items()}
                counts["failed"] = len(out.batch.invalid)
                if out.second_pass:
                    gone += out.batch.missing
                    counts["gone"] = len(out.batch.missing)
                else:
                    to_confirm += out.batch.missing
                    counts["missing"] = len(out.batch.missing)
            elif out.error is not None:
                failed |= dict.fromkeys(out.ids, FailedAnswer(one_line(out.error), error_type_of(out.error)))
                counts["failed"] = len(out.ids)
                error, error_type = one_line(out.error), error_type_of(out.error)
            else:  # stopped: the API or the quota is to blame, not these channels
                error_type, error = self.pump.stop_reason()
                counts |= {"deferred": len(out.ids), "charged": 0,
                           "why_not_charged": f"{error_type}: deferred to the next run, no failure counted"}
            if counts["failed"] and error is None:
                error_type, error = INVALID_DATA, f"{counts['failed']} channel(s) answered invalid data"
            batches.append((out, counts, error_type, error))
        logged = [b for b in batches if not (b[0].stopped and not b[0].units)]  # never called: nothing to tell
        applied = AppliedGroup()
        if logged:
            start = time.perf_counter()
            with transaction(self.engine) as conn:
                applied = apply_answers(conn, found, gone, failed, cycle=self.cycle, rules=RULES)
                write_ms = int((time.perf_counter() - start) * 1000)
                write_events(conn, [AuditEvent.of(
                    self.cycle, "metadata", "success" if error is None else "failed", changes={"batch": counts},
                    error=error, error_type=error_type, quota_units=out.units, processing_ms=out.ms + write_ms,
                ) for out, counts, error_type, error in logged] + applied.events)
        with self._lock:  # two writers share the summary: counted once committed
            for out, counts, _, _ in batches:
                self.summary.invalid += len(out.batch.invalid) if out.batch is not None else 0
                self.summary.missing_first_pass += counts["missing"]
                self.summary.quota_units += out.units  # a stopped batch may still have spent units
                if out.stopped:
                    self.unfinished += out.ids
                else:
                    self.summary.attempted += 0 if out.second_pass else len(out.ids)
                    self.summary.batches += 1
            self._count(applied)
        return to_confirm

    def give_up(self, outs: Sequence[_Outcome], exc: BaseException) -> None:
        """A group the database kept refusing (lock or statement timeouts, deadlocks): nothing of it was
        written, so its channels wait for the next run, uncharged; one row tells the units it had spent."""
        ids = [cid for out in outs for cid in out.ids]
        units = sum(out.units for out in outs)
        log_run_stop(self.engine, self.cycle, "metadata", DATABASE_BUSY, one_line(exc), len(ids), units=units)
        with self._lock:
            self.unfinished += ids
            self.summary.quota_units += units

    def _count(self, applied: AppliedGroup) -> None:
        self.summary.refreshed += applied.refreshed
        self.summary.changed += applied.changed
        self.summary.unchanged += applied.refreshed - applied.changed
        self.summary.restored += applied.restored
        self.summary.gone += applied.gone
        self.summary.still_gone += applied.still_gone
        self.summary.failed += len(applied.failures)
        self.summary.failures += applied.failures[: max(MAX_FAILURES_LISTED - len(self.summary.failures), 0)]
        for weight, cid, title, keys, old_subs, new_subs in applied.top_changes:
            self._track_change(weight, (cid, title, keys, old_subs, new_subs))

    def _track_change(self, weight: int, item: tuple) -> None:
        entry = (weight, item[0], item)
        if len(self._changes) < TOP_N:
            heapq.heappush(self._changes, entry)
        else:
            heapq.heappushpop(self._changes, entry)

    # -- the run --------------------------------------------------------------------------------
    def run(self, channels: Sequence[DueChannel]) -> RefreshSummary:
        start = time.perf_counter()
        tiers = {ch.channel_id: ch.tier for ch in channels}
        try:
            first = self.pump.run([_Batch(list(ids), False)
                                   for ids in chunks([ch.channel_id for ch in channels], MAX_IDS_PER_CALL)])
            to_confirm = [cid for ids in first.written for cid in ids]
            second = self.pump.run([_Batch(list(ids), True) for ids in chunks(to_confirm, MAX_IDS_PER_CALL)])
        finally:
            self.pump.close()  # raises the configuration error that stopped the pump, after the writes
        self.unfinished += [cid for result in (first, second) for batch in result.unfinished for cid in batch.ids]
        self.summary.stopped_by_quota = self.pump.stopped.quota
        self.summary.stopped_by_circuit = self.pump.stopped.circuit
        self.summary.deferred = count_by_tier([DueChannel(None, cid, tiers[cid]) for cid in self.unfinished])
        self.pump.record_circuit_stop(self.engine, self.cycle, "metadata", len(self.unfinished))
        self.summary.largest_changes = [item for _, _, item in sorted(self._changes, reverse=True)]
        self.summary.wall_s = round(time.perf_counter() - start, 3)
        return self.summary


def refresh_channels(engine: Engine, client: YouTubeClient, gate: CountingGate, cycle: Cycle,
                     channels: Sequence[DueChannel], *, in_flight: int = 16) -> RefreshSummary:
    """Refresh exactly these channels (in the given order); ConfigurationError propagates after
    the batches already fetched are written. Rows whose channel id has the wrong shape (written by the
    gallery app; the API cannot know them) are logged, counted as invalid and never sent: one bad row
    must not fail the batch, let alone the run."""
    valid = [ch for ch in channels if is_valid_channel_id(ch.channel_id)]
    if len(valid) < len(channels):
        bad = [ch.channel_id for ch in channels if not is_valid_channel_id(ch.channel_id)]
        logging.getLogger(__name__).warning("skipped %d channel row(s) with a malformed channel id, e.g. %r",
                                            len(bad), str(bad[0])[:40])
    try:
        summary = _Refresher(engine, client, gate, cycle, in_flight).run(valid)
    finally:
        gate.release()  # the unused rest of the quota block goes back to the ledger
    summary.invalid += len(channels) - len(valid)
    return summary


def plan_within_budget(channels: Sequence[DueChannel], units_left: int) -> tuple[list[DueChannel], dict[str, int]]:
    """Take channels in priority order while the quota lasts, keeping one unit for the second pass."""
    needed = math.ceil(len(channels) / MAX_IDS_PER_CALL)
    if needed <= units_left:
        return list(channels), {}
    batches = max(units_left - 1, 0) if units_left > 1 else units_left
    take = batches * MAX_IDS_PER_CALL
    return list(channels[:take]), count_by_tier(channels[take:])


def refresh_shards(engine: Engine, client: YouTubeClient, gate: CountingGate, cycle: Cycle,
                   shards: Sequence[int], *, in_flight: int = 16, priority_only: bool = False) -> RefreshSummary:
    """One cycle over the shards: select what is due, spend the quota share by priority, refresh."""
    due = select_due(engine, shards, cycle.now, priority_only=priority_only)
    planned, deferred = plan_within_budget(due, gate.status().left)
    summary = refresh_channels(engine, client, gate, cycle, planned, in_flight=in_flight)
    summary.due = len(due)
    for tier, n in deferred.items():
        summary.deferred[tier] = summary.deferred.get(tier, 0) + n
    if deferred and not summary.stopped_by_quota:
        summary.stopped_by_quota = f"quota left ({gate.status().left} units) could not cover every due channel"
    return summary
