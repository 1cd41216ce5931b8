"""SQL building blocks for set-based statements: a whole batch of ids binds as one array (`= ANY`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
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
