"""SQL building blocks for set-based statements: a whole batch of ids binds as one array (`= ANY`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql

BATCH = 5_000


def chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def in_uuids(column, ids: Sequence[uuid.UUID]):
    """`column = ANY(:array)`: one bound parameter whatever the batch size."""
    return column == sa.any_(sa.literal(list(ids), postgresql.ARRAY(sa.Uuid)))


def in_strings(column, values: Sequence[str]):
    return column == sa.any_(sa.literal(list(values), postgresql.ARRAY(sa.String)))


def commit_horizon(conn: Connection) -> int:
    """The oldest transaction still running now (a 32-bit xid): every row version committed before it is
    visible to every statement from here on, and a row written by a transaction still open (or started
    later) is not before it. The cleanup's steps record it so their checks can tell the rows a step saw from
    the rows the app wrote since, exactly, whatever the clocks say."""
    return conn.execute(sa.text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint % 4294967296")).scalar_one()


def committed_before(table: sa.Table, horizon: int | None):
    """`table`'s row version was committed before `horizon` (see commit_horizon); always true for None.
    Compared by age, so it holds across xid wraparound; a frozen row is older than anything."""
    if horizon is None:
        return sa.true()
    return sa.text(f"age({table.name}.xmin) > age(CAST(:h_{table.name} AS text)::xid)").bindparams(
        **{f"h_{table.name}": str(horizon)})
