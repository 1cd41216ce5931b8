"""The operator's changes to chosen channels: one transaction that locks the rows, applies the
values, and writes one audit row per channel with what changed old→new, the reason and the actor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Engine, func, select, update

from channel_assets.cycle import Cycle
from channel_assets.db.audit.update_log import AuditEvent, write_events
from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import Channel, channel_written

DUE_NOW = object()  # a value meaning "due now at the latest": least(next_refresh_at, now)


class UnknownChannelIds(ValueError):
    """Well-formed ids that are not in videos_channel (or are soft-deleted): nothing was changed."""


def _jsonable(value):
    return value.isoformat() if isinstance(value, datetime) else value


def change_channels(engine: Engine, channel_ids: Sequence[str], values: Mapping[str, object], *, action: str,
                    reason: str, cycle: Cycle) -> int:
    """Set `values` (column -> value, or DUE_NOW for next_refresh_at) on the live channels `channel_ids`;
    raises UnknownChannelIds before changing anything when one is missing. Returns channels changed."""
    c = Channel.__table__.c
    now = cycle.now
    columns = [c[name] for name in values]
    with transaction(engine) as conn:
        rows = {r.channel_id: r for r in conn.execute(
            select(c.uuid, c.channel_id, *columns)
            .where(c.channel_id.in_(list(channel_ids)), c.soft_deleted_at.is_(None))
            .order_by(c.channel_id).with_for_update())}
        unknown = [cid for cid in channel_ids if cid not in rows]
        if unknown:
            raise UnknownChannelIds(f"not in videos_channel (or soft-deleted): {', '.join(unknown[:5])}"
                                    + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""))
        sql_values = {name: func.least(c[name], now) if v is DUE_NOW else v for name, v in values.items()}
        conn.execute(update(Channel.__table__).where(c.channel_id.in_(list(rows)))
                     .values(**sql_values, **channel_written(now)))
        events = []
        for cid, row in rows.items():
            changes = {name: [_jsonable(getattr(row, name)), _jsonable(
                min(getattr(row, name) or now, now) if v is DUE_NOW else v)]
                for name, v in values.items()}
            events.append(AuditEvent.of(cycle, "operator", "success", row.uuid, cid,
                                        changes={"action": action, "reason": reason, **{
                                            k: v for k, v in changes.items() if v[0] != v[1]}}))
        write_events(conn, events)
    return len(rows)
