"""The PostgreSQL server the tests use: CHANNEL_ASSETS_TEST_PG when set, else an embedded one.

The embedded server (data in <project>/.data/pg-test) is started once per test session and shared
by the xdist workers; the last worker to finish stops it. Every test still gets a database of its own.
"""

from __future__ import annotations

import os
import uuid
from contextlib import ExitStack
from functools import cache

import psycopg
from sqlalchemy.engine import make_url

from channel_assets.db.core.embedded import embedded_server, sqlalchemy_url
from channel_assets.settings import DEFAULT_DATA_DIR

TEST_PG_VARIABLE = "CHANNEL_ASSETS_TEST_PG"
EMBEDDED_TEST_PGDATA = DEFAULT_DATA_DIR / "pg-test"
_session = ExitStack()


@cache
def admin_dsn() -> str:
    """A libpq URI of a superuser connection to the server's `postgres` database."""
    given = os.environ.get(TEST_PG_VARIABLE, "").strip()
    if given:
        return given
    server = _session.enter_context(embedded_server(EMBEDDED_TEST_PGDATA))
    return server.get_uri("postgres")


def leave_server() -> None:
    """Leave the embedded server at the end of the session (the last process to leave stops it)."""
    _session.close()
    admin_dsn.cache_clear()


def database_url(dbname: str) -> str:
    """The SQLAlchemy (psycopg 3) URL of database `dbname` on the test server."""
    return make_url(sqlalchemy_url(admin_dsn())).set(database=dbname).render_as_string(hide_password=False)


def tcp_or_socket(url: str) -> tuple[str, int]:
    """(host, port) as libpq takes them: a socket directory is a host too."""
    parsed = make_url(url)
    return (parsed.host or str(parsed.query.get("host", ""))), parsed.port or 5432


class ThrowawayPostgres:
    """Creates a database of its own for one test and drops it afterwards: tests never share state."""

    def __init__(self) -> None:
        self.name = f"ca_test_{uuid.uuid4().hex[:12]}"

    def __enter__(self) -> str:
        with psycopg.connect(admin_dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        return database_url(self.name)

    def __exit__(self, *exc) -> None:
        with psycopg.connect(admin_dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
