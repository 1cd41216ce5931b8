"""Shared fixtures: an app database on each backend (SQLite file, throwaway PostgreSQL database)."""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest

from channel_assets.db import migrate
from channel_assets.db.engine import make_engine

PG_ADMIN_DSN = os.environ.get("CHANNEL_ASSETS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_url(dbname: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{dbname}"


class ThrowawayPostgres:
    """Creates a database of its own for one test and drops it afterwards: tests never share state."""

    def __init__(self) -> None:
        self.name = f"ca_test_{uuid.uuid4().hex[:12]}"

    def __enter__(self) -> str:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        return _pg_url(self.name)

    def __exit__(self, *exc) -> None:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.fixture
def pg_url():
    with ThrowawayPostgres() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'app.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """An empty database URL on each backend; tests using it run twice."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'app.db'}"
    else:
        with ThrowawayPostgres() as url:
            yield url


@pytest.fixture
def engine(db_url):
    """A migrated app database on each backend."""
    eng = make_engine(db_url)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def pg_engine(pg_url):
    eng = make_engine(pg_url)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()
