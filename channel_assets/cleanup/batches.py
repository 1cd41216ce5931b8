"""Set-based statements over batches of channel ids, within each backend's bound-parameter limits."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql

from channel_assets.db.models import Channel, UserChannel

# PostgreSQL binds a whole batch as one array (= ANY); SQLite expands IN (...) and caps at 999 params.
PG_BATCH = 5_000
SQLITE_BATCH = 900


def default_batch_size(conn: Connection) -> int:
    return PG_BATCH if conn.dialect.name == "postgresql" else SQLITE_BATCH


def chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def in_uuids(conn: Connection, column, ids: Sequence[uuid.UUID]):
    """`column = ANY(:array)` on PostgreSQL (one parameter), `column IN (...)` on SQLite."""
    if conn.dialect.name == "postgresql":
        return column == sa.any_(sa.literal(list(ids), postgresql.ARRAY(sa.Uuid)))
    return column.in_(list(ids))


def in_strings(conn: Connection, column, values: Sequence[str]):
    if conn.dialect.name == "postgresql":
        return column == sa.any_(sa.literal(list(values), postgresql.ARRAY(sa.String)))
    return column.in_(list(values))


def has_active_subscription():
    """EXISTS (active subscription of the outer channel): served by the (channel_id, is_active) index."""
    return (
        sa.select(UserChannel.id)
        .where(UserChannel.channel_id == Channel.uuid, UserChannel.is_active.is_(True))
        .exists()
    )
