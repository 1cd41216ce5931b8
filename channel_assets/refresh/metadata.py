"""Channel metadata refresh (F1, F2, F5, F6): 50-id channels.list batches, set-based writes, audit log.

API calls run in a thread pool; each completed batch is written from the calling thread in its own
transaction (one SELECT … FOR UPDATE of old values, one executemany UPDATE, one multi-row log INSERT),
so a crash leaves whole batches and two runs of one shard converge (absolute values, locked counters).
A successful answer that omits an id is only believed after a second pass at the end of the run.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from threading import Event

from sqlalchemy import Engine, bindparam, select, update

from channel_assets.db.engine import is_postgres, transaction
from channel_assets.db.models import Channel
from channel_assets.db.update_log import write_logs
from channel_assets.refresh.quota import CountingGate
from channel_assets.refresh.selection import DueChannel, count_by_tier, select_due
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
    redact,
)

TRACKED = ("title", "description", "custom_url", "thumbnail_url", "country", "published_at",
           "uploads_playlist_id", "subscriber_count", "hidden_subscriber_count", "video_count", "view_count")
TOP_N = 10


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
    def write(self, out: _Outcome) -> list[str]:
        """Apply one batch in one transaction; return the ids to confirm on the second pass."""
        found: dict[str, ChannelRecord] = {}
        gone: list[str] = []
        failed: dict[str, str] = {}
        to_confirm: list[str] = []
        if out.batch is not None:
            found = out.batch.found
            failed = {cid: f"invalid data: {reason}" for cid, reason in out.batch.invalid.items()}
            self.summary.invalid += len(out.batch.invalid)
            if out.second_pass:
                gone = list(out.batch.missing)
            else:
                to_confirm = list(out.batch.missing)
                self.summary.missing_first_pass += len(to_confirm)
        elif out.error is not None:
            failed = {cid: _one_line(out.error) for cid in out.ids}
        if not out.skipped:
            if not out.second_pass:
                self.summary.attempted += len(out.ids)
            self.summary.batches += 1
            self.summary.quota_units += out.units
        elif out.units:  # a refused/stopped batch that still spent units (e.g. quotaExceeded answer)
            self.summary.quota_units += out.units
        if out.skipped and not out.units:
            return []
        start = time.perf_counter()
        with transaction(self.engine) as conn:
            logs = self._apply(conn, found, gone, failed)
            logs.insert(0, {
                "channel_uuid": None, "channel_id": None, "update_type": "metadata",
                "status": "failed" if failed or out.skipped else "success",
                "error_message": _one_line(out.error) if out.error else None,
                "changes_made": {"batch": {"asked": len(out.ids), "found": len(found), "gone": len(gone),
                                           "missing": len(to_confirm), "failed": len(failed),
                                           "second_pass": out.second_pass}},
                "api_quota_used": out.units,
                "processing_time_ms": out.ms + int((time.perf_counter() - start) * 1000),
                "run_id": self.run_id, "actor": self.actor, "created_at": self.now,
            })
            write_logs(conn, logs)
        return to_confirm

    def _apply(self, conn, found: dict[str, ChannelRecord], gone: list[str], failed: dict[str, str]) -> list[dict]:
        c = Channel.__table__.c
        ids = sorted({*found, *gone, *failed})
        if not ids:
            return []
        query = select(c.uuid, c.channel_id, c.update_frequency, c.is_priority, c.is_critical, c.is_available,
                       c.unavailable_reason, c.missing_since, c.failed_update_count, *(c[f] for f in TRACKED)
                       ).where(c.channel_id.in_(ids)).order_by(c.channel_id)
        if is_postgres(conn):
            query = query.with_for_update()
        old = {row.channel_id: row for row in conn.execute(query)}
        now, logs = self.now, []
        ok_params, gone_params, fail_params = [], [], []
        for cid, rec in found.items():
            row = old.get(cid)
            if row is None:
                continue
            changes = {f: [_jsonable(getattr(row, f)), _jsonable(getattr(rec, f))]
                       for f in TRACKED if getattr(row, f) != getattr(rec, f)}
            if not row.is_available:
                changes["is_available"] = [False, True]
                self.summary.restored += 1
            self.summary.refreshed += 1
            if changes:
                self.summary.changed += 1
                logs.append(self._log(row, "success", changes=changes))
                delta = (rec.subscriber_count or 0) - (row.subscriber_count or 0)
                self._track_change(abs(delta), (cid, rec.title, ", ".join(sorted(changes)),
                                                row.subscriber_count, rec.subscriber_count))
            else:
                self.summary.unchanged += 1
            params = {f"v_{f}": getattr(rec, f) for f in TRACKED}
            params |= {"b_id": cid, "v_etag": rec.etag,
                       "v_next": now + interval_for(row.update_frequency, row.is_priority, row.is_critical)}
            ok_params.append(params)
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
        t = Channel.__table__
        where = c.channel_id == bindparam("b_id")
        dt = c.next_refresh_at.type
        if ok_params:
            values = {f: bindparam(f"v_{f}", type_=c[f].type) for f in TRACKED}
            conn.execute(update(t).where(where).values(
                **values, etag=bindparam("v_etag"), next_refresh_at=bindparam("v_next", type_=dt),
                last_updated=now, failed_update_count=0, last_error=None, missing_since=None,
                is_available=True, unavailable_reason=None, updated_at=now), ok_params)
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

    def _log(self, row, status: str, changes: dict | None = None, error: str | None = None) -> dict:
        return {"channel_uuid": row.uuid, "channel_id": row.channel_id, "update_type": "metadata",
                "status": status, "error_message": error, "changes_made": changes, "api_quota_used": 0,
                "processing_time_ms": None, "run_id": self.run_id, "actor": self.actor, "created_at": self.now}

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
        unfinished: list[str] = []
        with ThreadPoolExecutor(max_workers=max(self.in_flight, 1), thread_name_prefix="channels-list") as pool:
            futures = [pool.submit(self.fetch, ids, False) for ids in _chunks([ch.channel_id for ch in channels])]
            to_confirm: list[str] = []
            for fut in as_completed(futures):
                out = fut.result()
                if out.skipped:
                    unfinished += out.ids
                to_confirm += self.write(out)
            futures = [pool.submit(self.fetch, ids, True) for ids in _chunks(to_confirm)]
            for fut in as_completed(futures):
                out = fut.result()
                if out.skipped:
                    unfinished += out.ids
                self.write(out)
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
    the batches already fetched are written."""
    return _Refresher(engine, client, gate, now, in_flight, run_id, actor).run(channels)


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
