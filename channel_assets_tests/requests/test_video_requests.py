"""Video refresh requests through the request table: refused (bad, unknown, too many, rate limit, a channel
not followed, a removed channel), answered from stored, queued then served by serve_app_requests on the
emulator with per-video outcomes and the rows really updated, beside a channel request in the same run;
and the CLI's `request videos`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from sqlalchemy import update

from channel_assets.app import api
from channel_assets.cli.main import main
from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import ApiQuotaLedger, Video
from channel_assets.defs.resources import AppDatabase, AppRequestsPolicy, PipelinePolicy, YouTubeApi
from channel_assets.emulator import DEFAULT_API_KEY
from channel_assets_tests.videos.conftest import VideoWorld

from .conftest import follow
from .test_dagster import launch, tick

UNKNOWN = "AAAAAAAAAAA"


@pytest.fixture
def videos(engine, emulator) -> VideoWorld:
    return VideoWorld(engine, emulator)


@pytest.fixture
def stored(videos) -> list[str]:
    """Channels 0..2 with 3 videos each; user 7 follows channel 0 only."""
    ids = videos.store(channels=3, per_channel=3)
    follow(videos.engine, 7, [videos.world.channel_id(0)])
    return ids


@pytest.fixture
def resources(url, emulator):
    return {"app_db": AppDatabase(database_url=url), "policy": PipelinePolicy(),
            "youtube": YouTubeApi(api_key=DEFAULT_API_KEY, base_url=emulator.base_url,
                                  feed_base_url=emulator.base_url, max_calls_in_flight=2),
            "requests_policy": AppRequestsPolicy()}


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def test_refused_requests_say_why_in_one_line(engine, url, stored, monkeypatch):
    monkeypatch.setenv("CHANNEL_ASSETS_REQUESTS_USER_MAX_IDS", "2")
    cases = [
        ([], 7, "no video ids given"),
        (["bad id!"], 7, "invalid YouTube video id"),
        ([stored[0], UNKNOWN], "staff:alice", f"not in videos_video: {UNKNOWN}"),
        (stored[:3], 7, "too many videos: at most 2 per request, got 3"),
        ([stored[0], stored[3]], 7, f"user 7 does not follow the channel of {stored[3]}"),
    ]
    for ids, who, reason in cases:
        got = api.request_video_refresh(url, ids, who)
        assert (got["status"], got["kind"], got["video_ids"]) == ("refused", "video_refresh", ids)
        assert reason in got["status_reason"] and "\n" not in got["status_reason"]
        assert got["channel_ids"] is None and got["finished_at"] is not None
    with transaction(engine) as conn:  # channel 0 removed by the app: its videos keep no link
        conn.execute(update(Video).where(Video.video_id == stored[1]).values(channel_id=None))
    orphan = api.request_video_refresh(url, [stored[1]], 7)
    assert orphan["status"] == "refused" and "does not follow the channel of" in orphan["status_reason"]
    assert api.request_video_refresh(url, [stored[1]], "operator:ops")["status"] == "queued"  # staff may
    with pytest.raises(TypeError):
        api.request_video_refresh(url, stored[0], 7)  # a string, not a list: the caller's bug


def test_the_rate_limit_and_pending_cap_count_channel_and_video_requests_alike(url, stored, monkeypatch):
    monkeypatch.setenv("CHANNEL_ASSETS_REQUESTS_USER_PER_HOUR", "2")
    monkeypatch.setenv("CHANNEL_ASSETS_REQUESTS_USER_MAX_PENDING", "10")
    assert api.request_video_refresh(url, [stored[0]], 7)["status"] == "queued"
    assert api.request_video_refresh(url, [stored[1]], 7)["status"] == "queued"
    refused = api.request_video_refresh(url, [stored[2]], 7)
    assert refused["status_reason"] == "rate limit: at most 2 refresh requests an hour per user; try again later"
    assert api.request_video_refresh(url, [stored[2]], "staff:alice")["status"] == "queued"


def test_videos_refreshed_minutes_ago_are_answered_from_stored_for_a_user(engine, url, stored):
    now = datetime.now(UTC)
    with transaction(engine) as conn:
        conn.exec_driver_sql("INSERT INTO video_refresh_schedule (video_uuid, shard, due_at, refreshed_at) "
                             "SELECT uuid, 0, %(due)s, %(at)s FROM videos_video WHERE video_id = ANY(%(ids)s)",
                             {"due": now + timedelta(days=1), "at": now - timedelta(minutes=2), "ids": stored[:2]})
    answered = api.request_video_refresh(url, stored[:2], 7)
    assert answered["status"] == "done" and answered["outcome"] == dict.fromkeys(stored[:2], "answered_from_stored")
    assert "answered from stored" in answered["status_reason"]
    assert api.request_video_refresh(url, stored[1:3], 7)["status"] == "queued"  # stored[2] never refreshed
    assert api.request_video_refresh(url, stored[:2], "staff:alice")["status"] == "queued"  # staff force it


def test_queued_requests_are_served_with_per_video_outcomes_beside_a_channel_request(engine, url, videos, stored,
                                                                                     resources, instance):
    gone = stored[2]
    videos.set_status(gone, "deleted")
    channel = videos.world.channel_id(1)
    reqs = [api.request_video_refresh(url, stored[:3], "staff:alice", "support ticket"),
            api.request_video_refresh(url, stored[:2], 7),
            api.request_refresh(url, [channel], "operator:ops"),
            api.request_video_refresh(url, [stored[6]], "operator:ops")]
    assert [r["status"] for r in reqs] == ["queued"] * 4
    with transaction(engine) as conn:  # the app deleted a video (of channel 2: no uploads pass brings it back)
        conn.execute(Video.__table__.delete().where(Video.video_id == stored[6]))
    sensed = tick(instance, resources)
    [request] = sensed.run_requests
    assert request.run_config["ops"]["serve_app_requests_op"]["config"]["request_ids"] == [r["id"] for r in reqs]
    result = launch(instance, resources, request, videos.world.now)
    assert result.success

    done = [api.request_status(url, r["id"]) for r in reqs]
    assert [d["status"] for d in done] == ["done", "done", "done", "failed"]
    assert done[0]["outcome"] == {stored[0]: "refreshed", stored[1]: "refreshed", gone: "unavailable: deleted"}
    assert done[0]["status_reason"] == "2 refreshed, 1 unavailable"
    assert done[1]["outcome"] == {stored[0]: "refreshed", stored[1]: "refreshed"}  # each video once, staff's run
    assert done[2]["outcome"] == {channel: "refreshed"}
    assert done[3]["outcome"] == {stored[6]: "failed: not in videos_video"}
    rows = videos.rows()
    truth = videos.truth(stored[:2])
    assert {v: (rows[v].title, rows[v].view_count) for v in stored[:2]} == {
        v: (truth[v]["title"], truth[v]["viewCount"]) for v in stored[:2]}
    assert rows[gone].unavailable_reason == "deleted"
    assert rows[stored[4]].title == "as imported"  # not asked
    [output] = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    md = {k: v.value for k, v in output.step_output_data.metadata.items()}
    assert (md["requests_served"], md["channels"], md["videos"]) == (4, 1, 4)
    with engine.connect() as conn:
        ledger = conn.execute(ApiQuotaLedger.__table__.select()).one()
    assert ledger.video_units >= 1  # the video part of the quota paid for them

    again = api.request_video_refresh(url, stored[:2], "staff:bob")  # nothing changed since: forced, unchanged
    later = videos.world.now + timedelta(minutes=1)  # a later run; the emulator's clock (its answers) unchanged
    launch(instance, resources, tick(instance, resources, sensed.cursor).run_requests[0], later)
    assert api.request_status(url, again["id"])["outcome"] == dict.fromkeys(stored[:2], "unchanged")


def test_cli_request_videos_and_status_show_the_ids(engine, url, stored, monkeypatch, capsys):
    monkeypatch.setenv("CHANNEL_ASSETS_DATABASE_URL", url)
    assert main(["request", "videos", stored[0], stored[1], "--by", "staff:alice", "--reason", "typo fixed"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"request 1: queued (refresh of video(s) {stored[0]}, {stored[1]}, by staff:alice)")
    assert main(["request", "status", "1"]) == 0
    assert f"refresh of video(s) {stored[0]}, {stored[1]}" in capsys.readouterr().out
    assert main(["request", "videos", UNKNOWN, "--by", "staff:alice"]) == 1
    assert f"refused (refresh of video(s) {UNKNOWN}, by staff:alice): not in videos_video" in capsys.readouterr().err
    assert main(["request", "videos", stored[0], "--by", "alice"]) == 2
    err = capsys.readouterr().err
    assert "requested_by must be" in err and "Traceback" not in err


def test_a_users_videos_spend_the_user_requests_cap_and_the_video_part(engine, url, videos, stored, resources,
                                                                       instance):
    req = api.request_video_refresh(url, [stored[0]], 7)
    launch(instance, resources, tick(instance, resources).run_requests[0], videos.world.now)
    assert api.request_status(url, req["id"])["outcome"] == {stored[0]: "refreshed"}
    with engine.connect() as conn:
        ledger = conn.execute(ApiQuotaLedger.__table__.select()).one()
    assert ledger.user_request_units == ledger.video_units == ledger.units_used >= 1
