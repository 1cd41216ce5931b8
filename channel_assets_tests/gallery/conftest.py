"""A throwaway PostgreSQL database whose schema Django's own `migrate` made, and the app's ORM on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from channel_assets_tests.pg import ThrowawayPostgres

SETTINGS = "channel_assets_tests.gallery_app.settings"


def django(url: str, *args: str) -> subprocess.CompletedProcess:
    """`python -m django ARGS` for the gallery app on `url`, in its own process."""
    env = {**os.environ, "GALLERY_DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": SETTINGS}
    return subprocess.run([sys.executable, "-m", "django", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def orm(url: str, op: str, spec: dict | None = None) -> dict:
    """One of the app's ORM operations (channel_assets_tests.gallery_app.orm) on `url`."""
    env = {**os.environ, "GALLERY_DATABASE_URL": url}
    done = subprocess.run([sys.executable, "-m", "channel_assets_tests.gallery_app.orm", op, json.dumps(spec or {})],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def make_gallery_db() -> tuple[ThrowawayPostgres, str]:
    db = ThrowawayPostgres()
    url = db.__enter__()
    done = django(url, "migrate", "--no-input")
    assert done.returncode == 0, done.stderr
    return db, url


@pytest.fixture
def gallery_url():
    """An empty gallery app database, schema by `manage.py migrate`."""
    db, url = make_gallery_db()
    yield url
    db.__exit__(None, None, None)
