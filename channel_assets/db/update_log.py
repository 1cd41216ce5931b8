"""The audit log (F12): bulk writes to channel_update_logs and batched retention deletes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, insert, select

from channel_assets.db.engine import transaction
from channel_assets.db.models import ChannelUpdateLog


def write_logs(conn: Connection, rows: Sequence[dict]) -> int:
    """One multi-row INSERT per call. Each row: channel_uuid, channel_id, update_type (metadata, uploads,
    removal, restore, hold, override), status (success, failed, skipped), and optionally error_message,
    changes_made, api_quota_used, processing_time_ms, run_id, actor, created_at."""
    if not rows:
        return 0
    conn.execute(insert(ChannelUpdateLog), list(rows))
    return len(rows)


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
