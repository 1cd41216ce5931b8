"""Refresh requests by id: the job (now / next run) and the CLI, with one-line errors for bad ids."""

from __future__ import annotations

import dagster as dg
import pytest
from sqlalchemy import text

from channel_assets.cli.main import main
from channel_assets.db.core.engine import engine_for
from channel_assets.db.videos.selection import select_due_videos
from channel_assets.db.videos.tiering import VideoTierRules
from channel_assets.defs.resources import AppDatabase, PipelinePolicy, YouTubeApi
from channel_assets.defs.videos.jobs import refresh_videos
from channel_assets.emulator import DEFAULT_API_KEY


@pytest.fixture
def resources(engine, emulator):
    return {"app_db": AppDatabase(database_url=engine.url.render_as_string(hide_password=False)),
            "policy": PipelinePolicy(),
            "youtube": YouTubeApi(api_key=DEFAULT_API_KEY, base_url=emulator.base_url,
                                  feed_base_url=emulator.base_url, max_calls_in_flight=2)}


def _job(resources, now, **config):
    return refresh_videos.execute_in_process(
        run_config={"ops": {"refresh_videos_op": {"config": {"now": now.isoformat(), **config}}}},
        resources=resources, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


def test_the_job_refreshes_now_and_marks_for_the_next_run(engine, videos, resources):
    ids = videos.store(channels=2, per_channel=5)
    now = videos.world.now
    result = _job(resources, now, video_ids=ids[:3])
    assert result.success
    rows = videos.rows()
    truth = videos.truth(ids[:3])
    assert [rows[v].title for v in ids[:3]] == [truth[v]["title"] for v in ids[:3]]
    assert rows[ids[3]].title == "as imported"
    marked = _job(resources, now, video_ids=[ids[5]], when="next_run")
    assert marked.success
    assert videos.rows()[ids[5]].metadata_refresh_requested_at == now
    due = select_due_videos(engine, range(16), now, VideoTierRules())
    assert due[0].video_id == ids[5] and due[0].tier == "requested"


def test_the_job_fails_in_one_line_on_bad_or_unknown_ids(videos, resources):
    videos.store(channels=1, per_channel=2)
    for ids, words in ((["not-a-valid-id-at-all"], "video id"), (["AAAAAAAAAAA"], "not in videos_video")):
        result = _job(resources, videos.world.now, video_ids=ids)
        assert not result.success
        failure = result.failure_data_for_node("refresh_videos_op").user_failure_data
        assert words in failure.description and "\n" not in failure.description


def test_cli_marks_videos_and_rejects_bad_ids_in_one_line(engine, videos, monkeypatch, capsys):
    ids = videos.store(channels=1, per_channel=3)
    monkeypatch.setenv("CHANNEL_ASSETS_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    assert main(["videos", "refresh", ids[0], ids[1]]) == 0
    assert "2 video row(s) marked" in capsys.readouterr().out
    with engine_for(engine.url.render_as_string(hide_password=False)).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM videos_video WHERE metadata_refresh_requested_at IS NOT NULL"
                                 )).scalar() == 2
    assert main(["videos", "refresh", "bad id!"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("channel-assets: error:") and err.count("\n") == 1 and "Traceback" not in err
    assert main(["videos", "refresh", "ZZZZZZZZZZZ"]) == 2
    assert "not in videos_video: ZZZZZZZZZZZ" in capsys.readouterr().err


def test_cli_refreshes_now_against_the_api(engine, emulator, videos, monkeypatch, capsys):
    ids = videos.store(channels=1, per_channel=3)
    monkeypatch.setenv("CHANNEL_ASSETS_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("YOUTUBE_API_KEY", DEFAULT_API_KEY)
    monkeypatch.setenv("YOUTUBE_API_BASE_URL", emulator.base_url)
    assert main(["videos", "refresh", "--now", ids[0]]) == 0
    assert "1 video(s) refreshed" in capsys.readouterr().out
    assert videos.rows()[ids[0]].title == videos.truth([ids[0]])[ids[0]]["title"]
