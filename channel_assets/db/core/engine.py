"""Engines and transactions for the app database (PostgreSQL).

The pipeline's sessions name themselves (`application_name` channel_assets, so `pg_stat_activity` and the
app's DBA tell them from the app's own) and, when given, bound how long a statement may wait for a lock
and run: a pipeline write that meets an app transaction holding a row waits at most `lock_timeout`, and
so does every app request queued behind it. A statement stopped that way raises an error that
`is_retryable` recognises; the callers retry the batch later in the run instead of failing it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.exc import DBAPIError

T = TypeVar("T")
APPLICATION_NAME = "channel_assets"
# SQLSTATEs of a statement that can simply be run again later: lock_not_available (lock_timeout),
# query_canceled (statement_timeout), deadlock_detected, serialization_failure (REPEATABLE READ).
RETRYABLE_SQLSTATES = frozenset({"55P03", "57014", "40P01", "40001"})


def make_engine(database_url: str, *, lock_timeout_ms: int | None = None,
                statement_timeout_s: int | None = None) -> Engine:
    """A pooled engine; pre-ping so a restarted server costs one retry, not a failed run. Timeouts of None
    keep the server's (no limit), as migrations and the tests' own fixtures need."""
    options = []
    if lock_timeout_ms is not None:
        options.append(f"-c lock_timeout={int(lock_timeout_ms)}")
    if statement_timeout_s is not None:
        options.append(f"-c statement_timeout={int(statement_timeout_s) * 1000}")
    connect_args = {"application_name": APPLICATION_NAME} | ({"options": " ".join(options)} if options else {})
    return create_engine(database_url, pool_size=20, max_overflow=10, pool_pre_ping=True, connect_args=connect_args)


@lru_cache(maxsize=8)
def engine_for(database_url: str, *, lock_timeout_ms: int | None = None,
               statement_timeout_s: int | None = None) -> Engine:
    """One engine per URL and timeouts per process, so pools are shared across resources and threads."""
    return make_engine(database_url, lock_timeout_ms=lock_timeout_ms, statement_timeout_s=statement_timeout_s)


@contextmanager
def transaction(engine: Engine, *, isolation_level: str | None = None) -> Iterator[Connection]:
    """BEGIN ... COMMIT, or ROLLBACK on any exception; `isolation_level` e.g. "REPEATABLE READ"."""
    with engine.connect() as conn:
        if isolation_level is not None:
            conn = conn.execution_options(isolation_level=isolation_level)
        with conn.begin():
            yield conn


def is_retryable(exc: BaseException) -> bool:
    """A statement that met a lock or statement timeout, a deadlock or a serialization failure: nothing was
    written (its transaction rolled back) and running it again later may well succeed. Raised through
    SQLAlchemy or, for the COPY and raw-cursor paths, by psycopg itself."""
    error = exc.orig if isinstance(exc, DBAPIError) else exc
    return getattr(error, "sqlstate", None) in RETRYABLE_SQLSTATES


class Refused(Exception):
    """A transaction the database kept refusing (see is_retryable) after every attempt; nothing was written."""

    def __init__(self, attempts: int, last: BaseException) -> None:
        super().__init__(f"refused {attempts} times, last: {str(getattr(last, 'orig', last)).splitlines()[0]}")
        self.last = last


def with_retries(engine: Engine, work: Callable[[Connection], T], *, isolation_level: str | None = None,
                 attempts: int = 4, pause_s: float = 0.2, retry_on: tuple[type[BaseException], ...] = ()) -> T:
    """`work(conn)` in a transaction of its own; refused for a reason that passes (is_retryable, or one of
    `retry_on`), it is run again after a growing pause. Raises Refused after `attempts`, other errors at once."""
    for attempt in range(1, attempts + 1):
        try:
            with transaction(engine, isolation_level=isolation_level) as conn:
                return work(conn)
        except Exception as exc:
            if not (is_retryable(exc) or isinstance(exc, retry_on)):
                raise
            if attempt == attempts:
                raise Refused(attempts, exc) from exc
            time.sleep(pause_s * attempt)
    raise AssertionError("unreachable")
