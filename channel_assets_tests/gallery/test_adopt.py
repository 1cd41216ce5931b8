"""`db upgrade` on the schema Django made: adopts it, changes only what it must, is idempotent."""

import pytest

from channel_assets.db import migrate
from channel_assets.db.engine import make_engine


@pytest.mark.xfail(strict=True, reason="issue #12: the first CREATE TABLE collides with the app's tables")
def test_upgrade_adopts_the_django_schema(gallery_url):
    engine = make_engine(gallery_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
