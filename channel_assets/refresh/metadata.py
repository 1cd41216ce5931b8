"""Channel metadata refresh: 50-id channels.list batches, set-based writes, audit log.

API calls run in a thread pool; the calling thread is the writer. Whenever it is free it takes the
answers that are ready (waiting up to MAX_GROUP_WAIT_S for MIN_GROUP of them, taking at most MAX_GROUP
batches) and writes them in ONE transaction, so a crash leaves
whole batches and two runs of one shard converge (absolute values, counters read under row locks taken
in channel-id order). At most `in_flight + 2 * MAX_GROUP` batches are submitted ahead of the writer,
which bounds memory whatever the size of the cycle. The writes themselves are
channel_assets.db.refresh.channel_writes.apply_answers. A successful answer that omits an id is only believed after a second pass at the end of the run.
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from queue import Empty, SimpleQueue
from threading import Event, Lock

from sqlalchemy import Engine

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
from channel_assets.refresh.error_types import CIRCUIT_OPEN, INVALID_DATA, error_type_of
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
    CircuitOpen,
    ConfigurationError,
    QuotaExceeded,
    QuotaShareExhausted,
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
    skipped: bool = False
    units: int = 0
    ms: int = 0


class _Refresher:
    def __init__(self, engine: Engine, client: YouTubeClient, gate: CountingGate, now: datetime,
                 in_flight: int, run_id: str | None, actor: str) -> None:
        self.engine, self.client, self.gate, self.now = engine, client, gate, now
        self.in_flight, self.run_id, self.actor = in_flight, run_id, actor
        self.stop = Event()
        self.fatal: ConfigurationError | None = None
        self.summary = RefreshSummary()
        self._changes: list[tuple] = []
        self._lock = Lock()

    # -- API side (worker threads) ------------------------------------------------------------
    def fetch(self, ids: list[str], second_pass: bool) -> _Outcome:
        out = _Outcome(ids, second_pass)
        if self.stop.is_set():
            out.skipped = True
            return out
        before, start = self.gate.thread_units(), time.perf_counter()
        try:
            out.batch = self.client.list_channels(ids)
        except (QuotaShareExhausted, QuotaExceeded) as exc:
            self.stop.set()
            self.summary.stopped_by_quota = self.summary.stopped_by_quota or one_line(exc)
            out.skipped = True
        except CircuitOpen as exc:  # the API is down, not the channels: stop like the quota, count nothing
            self.stop.set()
            self.summary.stopped_by_circuit = self.summary.stopped_by_circuit or one_line(exc)
            out.skipped = True
        except ConfigurationError as exc:
            self.stop.set()
            self.fatal = self.fatal or exc
            out.skipped = True
        except YouTubeError as exc:
            out.error = exc
        out.units = self.gate.thread_units() - before
        out.ms = int((time.perf_counter() - start) * 1000)
        return out

    # -- DB side (calling thread) -------------------------------------------------------------
    def write(self, outs: Sequence[_Outcome]) -> list[str]:
        """Apply a group of answered batches in one transaction; return the ids to confirm on the second pass.

        Each batch keeps its own summary log row (its exact quota units), so grouping changes nothing
        in the audit log but the number of transactions."""
        found: dict[str, ChannelRecord] = {}
        gone: list[str] = []
        failed: dict[str, FailedAnswer] = {}
        to_confirm: list[str] = []
        batches: list[tuple[_Outcome, dict]] = []
        with self._lock:  # two writers share the summary
            for out in outs:
                b_found, b_gone, b_failed, b_missing = 0, 0, 0, 0
                if out.batch is not None:
                    found |= out.batch.found
                    b_found = len(out.batch.found)
                    failed |= {cid: FailedAnswer(f"invalid data: {reason}", INVALID_DATA)
                               for cid, reason in out.batch.invalid.items()}
                    b_failed = len(out.batch.invalid)
                    self.summary.invalid += len(out.batch.invalid)
                    if out.second_pass:
                        gone += out.batch.missing
                        b_gone = len(out.batch.missing)
                    else:
                        to_confirm += out.batch.missing
                        b_missing = len(out.batch.missing)
                        self.summary.missing_first_pass += b_missing
                elif out.error is not None:
                    failed |= dict.fromkeys(out.ids, FailedAnswer(one_line(out.error), error_type_of(out.error)))
                    b_failed = len(out.ids)
                if not out.skipped:
                    if not out.second_pass:
                        self.summary.attempted += len(out.ids)
                    self.summary.batches += 1
                self.summary.quota_units += out.units  # a refused/stopped batch may still have spent units
                if out.skipped and not out.units:
                    continue
                batches.append((out, {"batch": {"asked": len(out.ids), "found": b_found, "gone": b_gone,
                                                "missing": b_missing, "failed": b_failed,
                                                "second_pass": out.second_pass}}))
        if not batches:
            return to_confirm
        start = time.perf_counter()
        with transaction(self.engine) as conn:
            applied = apply_answers(conn, found, gone, failed, now=self.now, rules=RULES, run_id=self.run_id,
                                    actor=self.actor)
            write_ms = int((time.perf_counter() - start) * 1000)
            summaries = [AuditEvent(
                "metadata", "failed" if changes["batch"]["failed"] or out.skipped else "success", self.now,
                changes=changes, error=one_line(out.error) if out.error else None,
                error_type=error_type_of(out.error) if out.error else None, quota_units=out.units,
                processing_ms=out.ms + write_ms, run_id=self.run_id, actor=self.actor,
            ) for out, changes in batches]
            write_events(conn, summaries + applied.events)
        with self._lock:  # counted once committed
            self._count(applied)
        return to_confirm

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
    def _pump(self, pool: ThreadPoolExecutor, writers: ThreadPoolExecutor, batches: list[list[str]],
              second_pass: bool, unfinished: list[str]) -> list[str]:
        """Fetch the batches with a bounded window ahead of the writers; write whatever is ready as one group,
        up to WRITERS groups at once."""
        ready: SimpleQueue[Future] = SimpleQueue()
        pending = iter(batches)
        window = self.in_flight + 2 * MAX_GROUP
        outstanding = 0
        to_confirm: list[str] = []
        writes: deque[Future] = deque()

        def fill() -> None:
            nonlocal outstanding
            while outstanding < window:
                ids = next(pending, None)
                if ids is None:
                    return
                pool.submit(self.fetch, ids, second_pass).add_done_callback(ready.put)
                outstanding += 1

        try:
            fill()
            while outstanding:
                group = [ready.get()]
                deadline = time.monotonic() + MAX_GROUP_WAIT_S
                while len(group) < min(MIN_GROUP, self.in_flight // 2, outstanding):
                    try:
                        group.append(ready.get(timeout=max(deadline - time.monotonic(), 0)))
                    except Empty:
                        break
                while len(group) < MAX_GROUP and not ready.empty():
                    group.append(ready.get())
                outstanding -= len(group)
                fill()  # keep the API busy while this group is written
                outs = [fut.result() for fut in group]
                unfinished += [cid for out in outs if out.skipped for cid in out.ids]
                writes.append(writers.submit(self.write, outs))
                while len(writes) >= WRITERS or (writes and writes[0].done()):
                    to_confirm += writes.popleft().result()
            while writes:
                to_confirm += writes.popleft().result()
        except BaseException:
            self.stop.set()  # the batches still in flight skip their calls; nothing half-written
            wait(writes)  # every started group is committed or rolled back before the error goes up
            raise
        return to_confirm

    def run(self, channels: Sequence[DueChannel]) -> RefreshSummary:
        start = time.perf_counter()
        tiers = {ch.channel_id: ch.tier for ch in channels}
        unfinished: list[str] = []
        with ThreadPoolExecutor(max_workers=max(self.in_flight, 1), thread_name_prefix="channels-list") as pool, \
                ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="channels-write") as writers:
            first = list(chunks([ch.channel_id for ch in channels], MAX_IDS_PER_CALL))
            to_confirm = self._pump(pool, writers, first, False, unfinished)
            self._pump(pool, writers, list(chunks(to_confirm, MAX_IDS_PER_CALL)), True, unfinished)
        if self.fatal is not None:
            raise self.fatal
        self.summary.deferred = count_by_tier([DueChannel(None, cid, tiers[cid]) for cid in unfinished])
        if self.summary.stopped_by_circuit:
            log_run_stop(self.engine, "metadata", self.now, CIRCUIT_OPEN, self.summary.stopped_by_circuit, len(unfinished),
                                self.run_id, self.actor)
        self.summary.largest_changes = [item for _, _, item in sorted(self._changes, reverse=True)]
        self.summary.wall_s = round(time.perf_counter() - start, 3)
        return self.summary

def refresh_channels(engine: Engine, client: YouTubeClient, gate: CountingGate, now: datetime,
                     channels: Sequence[DueChannel], *, in_flight: int = 16, run_id: str | None = None,
                     actor: str = "channel_metadata") -> RefreshSummary:
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
        summary = _Refresher(engine, client, gate, now, in_flight, run_id, actor).run(valid)
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


def refresh_shards(engine: Engine, client: YouTubeClient, gate: CountingGate, now: datetime,
                   shards: Sequence[int], *, in_flight: int = 16, run_id: str | None = None,
                   priority_only: bool = False) -> RefreshSummary:
    """One cycle over the shards: select what is due, spend the quota share by priority, refresh."""
    due = select_due(engine, shards, now, priority_only=priority_only)
    planned, deferred = plan_within_budget(due, gate.status().left)
    summary = refresh_channels(engine, client, gate, now, planned, in_flight=in_flight, run_id=run_id)
    summary.due = len(due)
    for tier, n in deferred.items():
        summary.deferred[tier] = summary.deferred.get(tier, 0) + n
    if deferred and not summary.stopped_by_quota:
        summary.stopped_by_quota = f"quota left ({gate.status().left} units) could not cover every due channel"
    return summary
