"""A throwaway PostgreSQL database whose schema Django's own `migrate` made, and the app's ORM on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

import psycopg
import pytest
from sqlalchemy.engine import make_url

from channel_assets_tests.pg import ThrowawayPostgres, admin_dsn, database_url

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


class GalleryDatabase(ThrowawayPostgres):
    """A throwaway database cloned from `template` (CREATE DATABASE … TEMPLATE: ~0.1 s instead of a
    Django process running `migrate` again)."""

    def __init__(self, template: str) -> None:
        super().__init__()
        self.template = template

    def __enter__(self) -> str:
        with psycopg.connect(admin_dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}" TEMPLATE "{self.template}"')
        return database_url(self.name)


@pytest.fixture(scope="session")
def gallery_template():
    """The gallery app's schema, made once per session by Django's own `manage.py migrate`."""
    with ThrowawayPostgres() as url:
        done = django(url, "migrate", "--no-input")
        assert done.returncode == 0, done.stderr
        yield make_url(url).database


@pytest.fixture
def gallery_url(gallery_template):
    """An empty gallery app database, schema by `manage.py migrate`."""
    with GalleryDatabase(gallery_template) as url:
        yield url


@dataclass
class DjangoGallery:
    """The gallery app's Django, configured in this process on a database of its own (pipeline schema too)."""

    url: str
    engine: object


@pytest.fixture(scope="session")
def django_gallery(gallery_template):
    """Django's settings are global to a process, so one database per worker session: `migrate` (by cloning
    the template), then `db upgrade`, then `django.setup()` here for Django's test client. Tests keep to
    rows of their own (fresh users and channel ids)."""
    from channel_assets.db.core import migrate
    from channel_assets.db.core.engine import make_engine

    with GalleryDatabase(gallery_template) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        _setup_django(url)
        try:
            yield DjangoGallery(url, engine)
        finally:
            from django.db import connections

            connections.close_all()
            engine.dispose()


def _setup_django(url: str) -> None:
    """django.setup() with the gallery settings on `url`; the environment is put back (subprocesses of other
    tests name their own database)."""
    import django
    from django.test.utils import setup_test_environment

    saved = {k: os.environ.get(k) for k in ("GALLERY_DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    os.environ.update(GALLERY_DATABASE_URL=url, DJANGO_SETTINGS_MODULE=SETTINGS)
    try:
        django.setup()
        setup_test_environment()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
