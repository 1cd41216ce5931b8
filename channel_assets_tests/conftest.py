"""Shared fixtures: a throwaway PostgreSQL database per test (see channel_assets_tests.pg for the server)."""

from __future__ import annotations

import pytest

from channel_assets.db.core import migrate
from channel_assets.db.core.engine import make_engine
from channel_assets_tests.pg import ThrowawayPostgres, leave_server


def pytest_sessionfinish(session, exitstatus):
    leave_server()


@pytest.fixture
def pg_url():
    """An empty database of the test's own."""
    with ThrowawayPostgres() as url:
        yield url


@pytest.fixture
def db_url(pg_url):
    return pg_url


@pytest.fixture
def pg_engine(pg_url):
    """A migrated app database."""
    eng = make_engine(pg_url)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def engine(pg_engine):
    return pg_engine
