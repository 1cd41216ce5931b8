"""Channel metadata refresh (F1, F2, F5, F6): 50-id channels.list batches, set-based writes, audit log.

API calls run in a thread pool; the calling thread is the writer. Whenever it is free it takes the
answers that are ready (waiting up to MAX_GROUP_WAIT_S for MIN_GROUP of them, taking at most MAX_GROUP
batches) and writes them in ONE transaction, so a crash leaves
whole batches and two runs of one shard converge (absolute values, counters read under row locks taken
in channel-id order). At most `in_flight + 2 * MAX_GROUP` batches are submitted ahead of the writer,
which bounds memory whatever the size of the cycle.

One ordered SELECT … FOR UPDATE of the group's rows (narrow: the tier columns
only), the answers COPYed into a temp table, then ONE statement diffs old against new in SQL
(IS DISTINCT FROM), updates the rows, inserts the old→new change-log rows and returns the counts and
the largest changes. Gone and failed channels (rare) take an executemany path.
A successful answer that omits an id is only believed after a second pass at the end of the run.
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from queue import Empty, SimpleQueue
from threading import Event

from psycopg.rows import namedtuple_row
from sqlalchemy import Engine, bindparam, update

from channel_assets.db.engine import transaction
from channel_assets.db.models import Channel
from channel_assets.db.selection import DueChannel, count_by_tier, select_due
from channel_assets.db.update_log import AuditEvent, write_events
from channel_assets.refresh.quota import CountingGate
from channel_assets.refresh.tiers import UNAVAILABLE_RECHECK, failure_backoff, interval_for
from channel_assets.youtube import (
    MAX_IDS_PER_CALL,
    ChannelBatch,
    ChannelRecord,
    ConfigurationError,
    QuotaExceeded,
    QuotaShareExhausted,
    YouTubeClient,
    YouTubeError,
    is_valid_channel_id,
    redact,
)

TRACKED = ("title", "description", "custom_url", "thumbnail_url", "country", "published_at",
           "uploads_playlist_id", "subscriber_count", "hidden_subscriber_count", "video_count", "view_count")
TOP_N = 10
MAX_GROUP = 20  # API batches (of 50 ids) written per transaction at most: 1,000 channels
# A transaction costs ~8 round trips whatever its size, each slow while 16 fetch threads hold the GIL;
# at 150 ms per call the writer, taking whatever was ready, wrote 522 groups of ~4 batches and spent
# 90% of the run in them. It now waits (briefly) for a few batches before it writes: up to
# min(MIN_GROUP, in_flight // 2), since no more than `in_flight` answers can arrive per round of calls.
MIN_GROUP = 8
MAX_GROUP_WAIT_S = 0.25

# -- PostgreSQL write path ------------------------------------------------------------------------
_PG_LOCK = """
SELECT channel_id, update_frequency, is_priority, is_critical
FROM videos_channel WHERE channel_id = ANY(%(ids)s) ORDER BY channel_id FOR UPDATE"""
_PG_OLD = """
SELECT channel_id, uuid, is_available, unavailable_reason, missing_since, failed_update_count
FROM videos_channel WHERE channel_id = ANY(%(ids)s)"""
# ON COMMIT DELETE ROWS: empty at the start of every transaction that uses it (also after a rollback).
_PG_TEMP = """
CREATE TEMP TABLE IF NOT EXISTS channel_assets_metadata_in (
    channel_id text, title text, description text, custom_url text, thumbnail_url text, country text,
    published_at timestamptz, uploads_playlist_id text, subscriber_count bigint,
    hidden_subscriber_count boolean, video_count bigint, view_count bigint, etag text,
    next_refresh_at timestamptz) ON COMMIT DELETE ROWS"""
_PG_COPY = (f"COPY channel_assets_metadata_in (channel_id, {', '.join(TRACKED)}, etag, next_refresh_at) "
            "FROM STDIN (FORMAT BINARY)")  # binary: ~4x less client CPU than text for these rows
_PG_COPY_TYPES = ("text", "text", "text", "text", "text", "text", "timestamptz", "text", "int8", "bool", "int8",
                  "int8", "text", "timestamptz")


def _pg_json(expr: str, field_name: str) -> str:
    """The JSON of a value as the Python path logs it (datetimes as `datetime.isoformat()` in UTC)."""
    if field_name != "published_at":
        return expr
    utc = f"({expr} AT TIME ZONE 'UTC')"
    return (f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN extract(microseconds FROM {utc})"
            f"::bigint %% 1000000 <> 0 THEN to_char({utc}, '.US') ELSE '' END || '+00:00'")


# The diff is built as json TEXT (json_build_array, concat_ws skipping the unchanged fields) and parsed
# into jsonb once: ~3x cheaper in the server than jsonb_build_object + jsonb_strip_nulls per field.
_PG_DIFF = "concat_ws(',', " + ",\n".join(
    f"CASE WHEN c.{f} IS DISTINCT FROM t.{f} THEN '\"{f}\":' || json_build_array({_pg_json('c.' + f, f)}, "
    f"{_pg_json('t.' + f, f)}) END" for f in TRACKED) + ",\nCASE WHEN NOT c.is_available THEN '\"is_available\":[false,true]' END)"
_PG_SET = ", ".join(f"{f} = t.{f}" for f in (*TRACKED, "etag", "next_refresh_at"))
# The rows are locked (by _PG_LOCK) before this statement takes its snapshot, so `d` reads the current
# values; every CTE sees that same snapshot, so `d` holds the old values while `u` writes the new ones.
# `c.channel_id = ANY(ids)` keeps the plan on the unique index whatever the temp table's statistics.
_PG_APPLY = f"""
WITH d AS (
    SELECT t.channel_id, c.uuid, c.is_available AS was_available, c.subscriber_count AS old_subs,
           t.subscriber_count AS new_subs, t.title AS new_title,
           {_PG_DIFF} AS diff
    FROM channel_assets_metadata_in t JOIN videos_channel c ON c.channel_id = t.channel_id
    WHERE c.channel_id = ANY(%(ids)s)
), u AS (
    UPDATE videos_channel c SET {_PG_SET}, last_updated = %(now)s, failed_update_count = 0, last_error = NULL,
           missing_since = NULL, is_available = true, unavailable_reason = NULL, updated_at = %(now)s
    FROM channel_assets_metadata_in t WHERE c.channel_id = t.channel_id AND c.channel_id = ANY(%(ids)s)
), dj AS (
    SELECT d.*, ('{{' || diff || '}}')::jsonb AS changes FROM d WHERE diff <> ''
), l AS (
    INSERT INTO channel_update_logs (channel_uuid, channel_id, update_type, status, changes_made,
                                     api_quota_used, run_id, actor, created_at)
    SELECT uuid, channel_id, 'metadata', 'success', changes, 0, %(run_id)s, %(actor)s, %(now)s
    FROM dj ORDER BY channel_id
)
SELECT count(*) AS refreshed, count(*) FILTER (WHERE diff <> '') AS changed,
       count(*) FILTER (WHERE NOT was_available) AS restored,
       (SELECT coalesce(jsonb_agg(jsonb_build_array(w, channel_id, new_title, keys, old_subs, new_subs)), '[]')
        FROM (SELECT abs(coalesce(new_subs, 0) - coalesce(old_subs, 0)) AS w, channel_id, new_title, old_subs,
                     new_subs, (SELECT string_agg(k, ', ' ORDER BY k COLLATE "C")
                                FROM jsonb_object_keys(changes) k) AS keys
              FROM dj
              ORDER BY w DESC, channel_id COLLATE "C" DESC LIMIT {TOP_N}) top) AS top
FROM d"""


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


def _one_line(exc: BaseException) -> str:
    return " ".join(redact(str(exc)).split())[:300]


def _jsonable(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _chunks(items: Sequence, size: int = MAX_IDS_PER_CALL):
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


class _Refresher:
    def __init__(self, engine: Engine, client: YouTubeClient, gate: CountingGate, now: datetime,
                 in_flight: int, run_id: str | None, actor: str) -> None:
        self.engine, self.client, self.gate, self.now = engine, client, gate, now
        self.in_flight, self.run_id, self.actor = in_flight, run_id, actor
        self.stop = Event()
        self.fatal: ConfigurationError | None = None
        self.summary = RefreshSummary()
        self._changes: list[tuple] = []

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
            self.summary.stopped_by_quota = self.summary.stopped_by_quota or _one_line(exc)
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
        failed: dict[str, str] = {}
        to_confirm: list[str] = []
        batches: list[tuple[_Outcome, dict]] = []
        for out in outs:
            b_found, b_gone, b_failed, b_missing = 0, 0, 0, 0
            if out.batch is not None:
                found |= out.batch.found
                b_found = len(out.batch.found)
                failed |= {cid: f"invalid data: {reason}" for cid, reason in out.batch.invalid.items()}
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
                message = _one_line(out.error)
                failed |= dict.fromkeys(out.ids, message)
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
            logs = self._apply_pg(conn, found, gone, failed)
            write_ms = int((time.perf_counter() - start) * 1000)
            summaries = [AuditEvent(
                "metadata", "failed" if changes["batch"]["failed"] or out.skipped else "success", self.now,
                changes=changes, error=_one_line(out.error) if out.error else None, quota_units=out.units,
                processing_ms=out.ms + write_ms, run_id=self.run_id, actor=self.actor,
            ) for out, changes in batches]
            write_events(conn, summaries + logs)
        return to_confirm

    def _apply_pg(self, conn, found: dict[str, ChannelRecord], gone: list[str], failed: dict[str, str]) -> list[dict]:
        """PostgreSQL: lock in channel-id order, COPY the answers, diff/update/log in one statement."""
        ids = sorted({*found, *gone, *failed})
        if not ids:
            return []
        raw = conn.connection.driver_connection  # the psycopg connection, inside this same transaction
        with raw.cursor() as cur:
            # synchronous_commit: re-runs converge (absolute values, logs per run), so a commit lost in a
            # server crash costs nothing but a later refresh; no need to wait for the WAL flush here.
            # random_page_cost: with the default 4.0 the planner prices ~1,000 index lookups of
            # `channel_id = ANY(ids)` above a scan of the whole table, twice per group (measured at 100k
            # rows: 13 ms per scan vs ~2.5 ms by the index; worse as the table grows). The pages are hot.
            # jit: never pays off for a statement over ~1,000 rows (and costs ~0.5 s when it triggers).
            cur.execute(f"SET LOCAL synchronous_commit = off; SET LOCAL random_page_cost = 1.1; SET LOCAL jit = off;"
                        f"{_PG_TEMP}")
            cur.execute(_PG_LOCK, {"ids": ids})
            tiers = {cid: (freq, priority, critical) for cid, freq, priority, critical in cur}
            ok = [cid for cid in found if cid in tiers]
            if ok:
                now, intervals = self.now, {}
                with cur.copy(_PG_COPY) as copy:
                    copy.set_types(_PG_COPY_TYPES)
                    for cid in ok:
                        rec, key = found[cid], tiers[cid]
                        nxt = intervals.get(key)
                        if nxt is None:
                            nxt = intervals[key] = now + interval_for(*key)
                        copy.write_row((cid, rec.title, rec.description, rec.custom_url, rec.thumbnail_url,
                                        rec.country, rec.published_at, rec.uploads_playlist_id,
                                        rec.subscriber_count, rec.hidden_subscriber_count, rec.video_count,
                                        rec.view_count, rec.etag, nxt))
                cur.execute(_PG_APPLY, {"ids": ok, "now": now, "run_id": self.run_id, "actor": self.actor})
                refreshed, changed, restored, top = cur.fetchone()
                self.summary.refreshed += refreshed
                self.summary.changed += changed
                self.summary.unchanged += refreshed - changed
                self.summary.restored += restored
                for weight, cid, title, keys, old_subs, new_subs in top:
                    self._track_change(weight, (cid, title, keys, old_subs, new_subs))
            if not gone and not failed:
                return []
            cur.row_factory = namedtuple_row
            cur.execute(_PG_OLD, {"ids": [cid for cid in (*gone, *failed) if cid in tiers]})
            old = {row.channel_id: row for row in cur}
        return self._apply_gone_failed(conn, old, gone, failed)

    def _apply_gone_failed(self, conn, old: dict, gone: list[str], failed: dict[str, str]) -> list[dict]:
        now, logs = self.now, []
        gone_params, fail_params = [], []
        for cid in gone:
            row = old.get(cid)
            if row is None:
                continue
            if row.is_available:
                self.summary.gone += 1
                logs.append(self._log(row, "success", changes={"is_available": [True, False],
                                                                "unavailable_reason": [row.unavailable_reason,
                                                                                       "missing"]}))
            else:
                self.summary.still_gone += 1
            gone_params.append({"b_id": cid, "v_since": row.missing_since or now,
                                "v_next": now + UNAVAILABLE_RECHECK})
        for cid, message in failed.items():
            row = old.get(cid)
            if row is None:
                continue
            self.summary.failed += 1
            failures = row.failed_update_count + 1
            if len(self.summary.failures) < 50:
                self.summary.failures.append((cid, failures, message))
            logs.append(self._log(row, "failed", error=message))
            fail_params.append({"b_id": cid, "v_count": failures, "v_error": message,
                                "v_next": now + failure_backoff(failures)})
        t, c = Channel.__table__, Channel.__table__.c
        where = c.channel_id == bindparam("b_id")
        dt = c.next_refresh_at.type
        if gone_params:
            conn.execute(update(t).where(where).values(
                is_available=False, unavailable_reason="missing",
                missing_since=bindparam("v_since", type_=dt), next_refresh_at=bindparam("v_next", type_=dt),
                updated_at=now), gone_params)
        if fail_params:
            conn.execute(update(t).where(where).values(
                failed_update_count=bindparam("v_count"), last_error=bindparam("v_error"),
                next_refresh_at=bindparam("v_next", type_=dt), updated_at=now), fail_params)
        return logs

    @staticmethod
    def _interval(row):
        return interval_for(row.update_frequency, row.is_priority, row.is_critical)

    def _log(self, row, status: str, changes: dict | None = None, error: str | None = None) -> AuditEvent:
        return AuditEvent("metadata", status, self.now, row.uuid, row.channel_id, changes=changes, error=error,
                          run_id=self.run_id, actor=self.actor)

    def _track_change(self, weight: int, item: tuple) -> None:
        entry = (weight, item[0], item)
        if len(self._changes) < TOP_N:
            heapq.heappush(self._changes, entry)
        else:
            heapq.heappushpop(self._changes, entry)

    # -- the run --------------------------------------------------------------------------------
    def _pump(self, pool: ThreadPoolExecutor, chunks: list[list[str]], second_pass: bool,
              unfinished: list[str]) -> list[str]:
        """Fetch the chunks with a bounded window ahead of the writer; write whatever is ready as one group."""
        ready: SimpleQueue[Future] = SimpleQueue()
        pending = iter(chunks)
        window = self.in_flight + 2 * MAX_GROUP
        outstanding = 0
        to_confirm: list[str] = []

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
                to_confirm += self.write(outs)
        except BaseException:
            self.stop.set()  # the batches still in flight skip their calls; nothing half-written
            raise
        return to_confirm

    def run(self, channels: Sequence[DueChannel]) -> RefreshSummary:
        start = time.perf_counter()
        tiers = {ch.channel_id: ch.tier for ch in channels}
        unfinished: list[str] = []
        with ThreadPoolExecutor(max_workers=max(self.in_flight, 1), thread_name_prefix="channels-list") as pool:
            to_confirm = self._pump(pool, _chunks([ch.channel_id for ch in channels]), False, unfinished)
            self._pump(pool, _chunks(to_confirm), True, unfinished)
        if self.fatal is not None:
            raise self.fatal
        self.summary.deferred = count_by_tier([DueChannel(None, cid, tiers[cid]) for cid in unfinished])
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
    summary = _Refresher(engine, client, gate, now, in_flight, run_id, actor).run(valid)
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
