"""Dagster-level: video_metadata materialized over all shards in one run, in the refresh job after the channels."""

from __future__ import annotations

import dagster as dg
import pytest

from channel_assets.defs.refresh.jobs import refresh_all_shards_job
from channel_assets.defs.refresh.schedules import ALL_SHARDS_TAGS
from channel_assets.defs.resources import AppDatabase, PipelinePolicy, YouTubeApi
from channel_assets.defs.videos.assets import video_metadata
from channel_assets.emulator import DEFAULT_API_KEY


@pytest.fixture
def resources(engine, emulator):
    return {"app_db": AppDatabase(database_url=engine.url.render_as_string(hide_password=False)),
            "policy": PipelinePolicy(),
            "youtube": YouTubeApi(api_key=DEFAULT_API_KEY, base_url=emulator.base_url,
                                  feed_base_url=emulator.base_url, max_calls_in_flight=4)}


def test_all_shards_in_one_run(engine, videos, resources):
    ids = videos.store(channels=4, per_channel=10)
    now = videos.world.now
    result = dg.materialize([video_metadata], resources=resources, instance=dg.DagsterInstance.ephemeral(),
                            tags=dict(ALL_SHARDS_TAGS),
                            run_config={"ops": {"video_metadata": {"config": {"now": now.isoformat()}}}})
    assert result.success
    md = {k: v.value for k, v in result.asset_materializations_for_node("video_metadata")[0].metadata.items()}
    assert md["due"] == len(ids) and md["answered"] == len(ids) and md["quota_units"] == 1
    assert md["videos_before"] == md["videos_after"] == len(ids)
    assert md["video_quota_limit"] == 2000  # 10,000 x 0.8 x 0.25


def test_the_refresh_job_runs_videos_after_the_channels():
    from channel_assets.definitions import defs

    job = defs.resolve_job_def(refresh_all_shards_job.name)
    assert "video_metadata" in {node.name for node in job.graph.node_defs}
    graph = defs.resolve_asset_graph()
    parents = graph.get(video_metadata.key).parent_keys
    assert {k.to_user_string() for k in parents} == {"channel_metadata", "channel_uploads"}
