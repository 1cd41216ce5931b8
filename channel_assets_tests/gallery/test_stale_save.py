"""Django's full-row save of a stale copy: the app loads a channel, the pipeline refreshes it, the app saves
what it loaded (Model.save() writes every field it knows). The pipeline's own columns survive (the app's
model does not know them), the row is noticed as saved by the app, and the next refresh run puts YouTube's
values back and logs them old→new."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest

from channel_assets.db.core import migrate
from channel_assets.db.core.engine import make_engine
from channel_assets.defs.refresh.assets import channel_metadata
from channel_assets.defs.refresh.schedules import ALL_SHARDS_TAGS
from channel_assets.defs.resources import AppDatabase, PipelinePolicy, YouTubeApi
from channel_assets.emulator import DEFAULT_API_KEY, EmulatorServer, World
from channel_assets_tests.refresh.conftest import START

from .conftest import GalleryDatabase, orm

PIPELINE_COLUMNS = ("shard", "etag", "custom_url", "thumbnail_url", "uploads_playlist_id", "next_refresh_at",
                    "pipeline_written_at", "is_priority", "frequency_pinned")


@pytest.fixture
def gallery(gallery_template):
    server = EmulatorServer(World(50, 3, START))
    server.start()
    with GalleryDatabase(gallery_template) as url:
        world = server.world
        orm(url, "seed", {"users": ["ana"], "channels": [
            {"channel_id": world.channel_id(i), "active": [0]} for i in range(2)]})
        engine = make_engine(url)
        migrate.upgrade(engine)
        yield url, engine, server
        engine.dispose()
    server.stop()


def _refresh(url, server, now):
    resources = {"app_db": AppDatabase(database_url=url), "policy": PipelinePolicy(),
                 "youtube": YouTubeApi(api_key=DEFAULT_API_KEY, base_url=server.base_url,
                                       feed_base_url=server.base_url, max_calls_in_flight=2)}
    result = dg.materialize([channel_metadata], resources=resources, tags=dict(ALL_SHARDS_TAGS),
                            run_config={"ops": {"channel_metadata": {"config": {"now": now.isoformat()}}}})
    assert result.success
    metas = [m.metadata for m in result.asset_materializations_for_node("channel_metadata")]
    return {k: metas[0][k].value for k in ("refreshed", "app_saved_since_refresh")}


def _row(engine, channel_id: str) -> dict:
    with engine.connect() as conn:
        return dict(conn.exec_driver_sql("SELECT * FROM videos_channel WHERE channel_id = %s",
                                         (channel_id,)).mappings().one())


def test_a_stale_full_row_save_keeps_the_pipelines_columns_and_the_next_run_restores_youtube(gallery):
    url, engine, server = gallery
    world, cid = server.world, server.world.channel_id(0)
    assert _refresh(url, server, START)["refreshed"] == 2
    stale = orm(url, "load_channel", {"channel_id": cid})  # the admin opens the channel's form

    world.set_title(cid, "Renamed on YouTube")
    world.advance(days=8)  # past its weekly tier: the next run refreshes it
    day8 = START + timedelta(days=8)
    _refresh(url, server, day8)
    fresh = _row(engine, cid)
    assert fresh["title"] == "Renamed on YouTube"

    orm(url, "save_stale", {"fields": stale})  # ... and saves the copy it opened before the refresh
    saved = _row(engine, cid)
    assert saved["title"] == stale["title"] != "Renamed on YouTube"  # Django wrote its stale fields back
    assert {c: saved[c] for c in PIPELINE_COLUMNS} == {c: fresh[c] for c in PIPELINE_COLUMNS}  # ours survive

    later = day8 + timedelta(hours=1)  # not due by its tier: refreshed an hour ago
    run = _refresh(url, server, later)
    assert run == {"refreshed": 1, "app_saved_since_refresh": 1}
    restored = _row(engine, cid)
    assert restored["title"] == "Renamed on YouTube" and restored["updated_at"] == restored["pipeline_written_at"]
    with engine.connect() as conn:
        logged = conn.exec_driver_sql(
            "SELECT changes_made->'title' FROM channel_update_logs WHERE channel_id = %s AND created_at = %s "
            "AND update_type = 'metadata'", (cid, later)).scalar_one()
    assert logged == [stale["title"], "Renamed on YouTube"]
    assert _refresh(url, server, later + timedelta(minutes=5)) == {"refreshed": 0, "app_saved_since_refresh": 0}
