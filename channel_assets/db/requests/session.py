"""One way to run the requests' SQL on whatever connection the caller has.

The gallery app calls the API with its own connection: a SQLAlchemy URL, Engine or Connection, or a raw
psycopg 3 connection (Django's `connection.connection`). All the requests' statements are plain SQL with
psycopg's `%(name)s` parameters, so they run unchanged through SQLAlchemy's `exec_driver_sql` (psycopg is
its driver here too) and on a raw psycopg cursor; no SQLAlchemy engine is ever wrapped around the app's
own connection (its first-connect handshake would roll back the app's open transaction).

Transactions: with a URL or an Engine the session is its own transaction; with a Connection or a psycopg
connection it joins the caller's transaction when one is open (the caller commits; on a psycopg connection
our statements run in a savepoint), and is its own transaction otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from sqlalchemy import Connection, Engine

from channel_assets.db.core.engine import engine_for

JSONB_COLUMNS = frozenset({"outcome", "changes_made"})


class Session:
    """Runs one statement at a time; rows come back as dicts (jsonb decoded whatever the connection's loaders)."""

    def __init__(self, run) -> None:
        self._run = run

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict]:
        return [_decoded(row) for row in self._run(sql, dict(params or {}), True)]

    def one(self, sql: str, params: Mapping[str, Any] | None = None) -> dict | None:
        found = self.rows(sql, params)
        return found[0] if found else None

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """Rows affected."""
        return self._run(sql, dict(params or {}), False)


def jsonb(value: Any) -> Jsonb:
    """A jsonb parameter (psycopg's wrapper: works on both kinds of connection)."""
    return Jsonb(value)


def _decoded(row: dict) -> dict:
    """Django registers a text loader for jsonb on its connections: decode what came back as text."""
    return {k: json.loads(v) if k in JSONB_COLUMNS and isinstance(v, str) else v for k, v in row.items()}


def _on_sqlalchemy(conn: Connection):
    def run(sql: str, params: dict, want_rows: bool):
        result = conn.exec_driver_sql(sql, params)
        return [dict(r) for r in result.mappings()] if want_rows else result.rowcount

    return run


def _on_psycopg(raw: psycopg.Connection):
    def run(sql: str, params: dict, want_rows: bool):
        with raw.cursor(row_factory=dict_row) as cur:
            cur.execute(sql, params)
            return cur.fetchall() if want_rows else cur.rowcount

    return run


def sqlalchemy_url(url: str) -> str:
    """PostgreSQL only; plain `postgresql://` means psycopg 3 (the project's driver)."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme == "postgresql":
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if scheme != "postgresql+psycopg":
        raise ValueError(f"db must be a postgresql:// or postgresql+psycopg:// URL, got scheme {scheme!r}")
    return url


@contextmanager
def session(db: str | Engine | Connection | psycopg.Connection) -> Iterator[Session]:
    """A Session on `db` (see the module docstring for the transaction each kind gets)."""
    if isinstance(db, str):
        db = engine_for(sqlalchemy_url(db))
    if isinstance(db, Engine):
        with db.begin() as conn:
            yield Session(_on_sqlalchemy(conn))
    elif isinstance(db, Connection):
        if db.in_transaction():
            yield Session(_on_sqlalchemy(db))
        else:
            with db.begin():
                yield Session(_on_sqlalchemy(db))
    elif isinstance(db, psycopg.Connection):
        with db.transaction():  # a savepoint inside the caller's open transaction, else BEGIN … COMMIT
            yield Session(_on_psycopg(db))
    else:
        raise TypeError(f"db must be a SQLAlchemy URL, Engine or Connection, or a psycopg connection, "
                        f"not {type(db).__name__}")
