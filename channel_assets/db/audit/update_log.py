"""The audit log: bulk writes to channel_update_logs and batched retention deletes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, insert, select

from channel_assets.cycle import Cycle
from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import ChannelUpdateLog


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One row of channel_update_logs. A batch summary has no channel (channel_uuid/channel_id None)."""

    update_type: str  # metadata, uploads, removal, restore, hold, override
    status: str  # success, failed, skipped
    created_at: datetime
    channel_uuid: uuid.UUID | None = None
    channel_id: str | None = None
    changes: dict | None = None
    error: str | None = None
    error_type: str | None = None  # not_found, access_denied, invalid_data, rate_limited, circuit_open, …
    quota_units: int = 0
    processing_ms: int | None = None
    run_id: str | None = None
    actor: str | None = None

    @classmethod
    def of(cls, cycle: Cycle, update_type: str, status: str, channel_uuid: uuid.UUID | None = None,
           channel_id: str | None = None, **fields) -> AuditEvent:
        """An event of `cycle`: stamped with its time, its run and its actor."""
        return cls(update_type, status, cycle.now, channel_uuid, channel_id, run_id=cycle.run_id, actor=cycle.actor,
                   **fields)

    def row(self) -> dict:
        return {"update_type": self.update_type, "status": self.status, "created_at": self.created_at,
                "channel_uuid": self.channel_uuid, "channel_id": self.channel_id, "changes_made": self.changes,
                "error_message": self.error, "error_type": self.error_type,
                "api_quota_used": self.quota_units,
                "processing_time_ms": self.processing_ms, "run_id": self.run_id, "actor": self.actor}


def write_events(conn: Connection, events: Sequence[AuditEvent]) -> int:
    """One multi-row INSERT per call, inside the caller's transaction (the audit row commits with the change)."""
    if not events:
        return 0
    conn.execute(insert(ChannelUpdateLog), [e.row() for e in events])
    return len(events)


def log_run_stop(engine: Engine, cycle: Cycle, update_type: str, error_type: str, message: str,
                 deferred: int, units: int = 0) -> None:
    """The durable trace of work stopped for a reason no channel is to blame for (an open circuit breaker,
    which the alerts read; a database that kept refusing a write): one row without a channel, the channels
    it deferred counted, not failed, and the quota units already spent on them."""
    with transaction(engine) as conn:
        write_events(conn, [AuditEvent.of(cycle, update_type, "skipped", changes={"deferred": deferred},
                                          error=message, error_type=error_type, quota_units=units)])


def purge_old_logs(engine: Engine, now: datetime, retention_days: int, batch_size: int = 5_000) -> int:
    """Delete rows older than the retention in short batches so the table is never locked for long."""
    cutoff = now - timedelta(days=retention_days)
    removed = 0
    while True:
        with transaction(engine) as conn:
            ids = conn.execute(
                select(ChannelUpdateLog.id).where(ChannelUpdateLog.created_at < cutoff).limit(batch_size)
            ).scalars().all()
            if not ids:
                return removed
            conn.execute(delete(ChannelUpdateLog).where(ChannelUpdateLog.id.in_(ids)))
        removed += len(ids)


SUCCESS_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class SuccessRate:
    attempts: int
    failed: int
    recent_failures: list[tuple]

    @property
    def pct(self) -> float:
        return 100.0 if not self.attempts else round(100.0 * (self.attempts - self.failed) / self.attempts, 2)


def success_rate(engine, now: datetime, window: timedelta = SUCCESS_WINDOW) -> SuccessRate:
    """Refresh attempts and failures of the metadata batches logged in (now - window, now].

    Deterministic on the cycle's clock: the window is closed on both sides, so runs stamped later (a
    simulated clock ahead, a concurrent newer cycle) never leak in. A channel counts once per run: the
    second pass re-asks ids that were missing (they end up gone or refreshed, never failed unless the
    call itself fails), so only first-pass ids are attempts, while failures of either pass count.
    """
    log = ChannelUpdateLog.__table__.c
    in_window = (log.created_at > now - window, log.created_at <= now, log.update_type == "metadata")
    with engine.connect() as conn:
        batches = conn.execute(select(log.changes_made).where(*in_window, log.channel_id.is_(None))).scalars().all()
        failures = conn.execute(select(log.channel_id, log.error_message).where(
            *in_window, log.status == "failed", log.channel_id.is_not(None)).order_by(log.id.desc()).limit(10)).all()
    attempts = failed = 0
    for b in batches:
        batch = (b or {}).get("batch")
        if not batch:
            continue
        attempts += 0 if batch.get("second_pass") else batch["asked"]
        failed += batch["failed"]
    return SuccessRate(attempts, failed, [tuple(r) for r in failures])
