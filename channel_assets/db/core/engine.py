"""Engines and transactions for the app database (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Connection, Engine, create_engine


def make_engine(database_url: str) -> Engine:
    """A pooled engine; pre-ping so a restarted server costs one retry, not a failed run."""
    return create_engine(database_url, pool_size=20, max_overflow=10, pool_pre_ping=True)


@lru_cache(maxsize=8)
def engine_for(database_url: str) -> Engine:
    """One engine per URL per process, so pools are shared across resources and threads."""
    return make_engine(database_url)


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """BEGIN ... COMMIT, or ROLLBACK on any exception."""
    with engine.connect() as conn, conn.begin():
        yield conn
