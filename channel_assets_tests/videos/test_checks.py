"""The video checks pass on a fresh pass and fail when they should; the report's video section and the
digest list what went and came back."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
from sqlalchemy import insert, update

from channel_assets.alerts.conditions import Digest, digest_message
from channel_assets.cycle import Cycle
from channel_assets.db.audit.alert_outbox import digest_facts
from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import ApiQuotaLedger, VideoRefreshSchedule
from channel_assets.db.refresh.quota_ledger import QuotaLedger, quota_day
from channel_assets.db.videos.tiering import VideoTierRules
from channel_assets.defs.resources import AppDatabase, PipelinePolicy
from channel_assets.defs.videos import checks
from channel_assets.refresh.timetable import REPORT_RULES
from channel_assets.reporting.freshness_report import (
    VideoReportRules,
    build_freshness_report,
    render_markdown,
    render_text,
)
from channel_assets.videos.refresh import refresh_video_shards

RULES = VideoTierRules()


def _run(engine, videos, client_factory, video_gate, run="r1"):
    gate = video_gate()
    return refresh_video_shards(engine, client_factory(gate), gate, Cycle(videos.world.now, run, "test"),
                                range(16), RULES, in_flight=2)


def _checks(engine, now, **md) -> dict[str, dg.AssetCheckResult]:
    instance = dg.DagsterInstance.ephemeral()
    instance.report_runless_asset_event(dg.AssetMaterialization("video_metadata",
                                                                metadata={"cycle_now": now.isoformat(), **md}))
    app_db = AppDatabase(database_url=engine.url.render_as_string(hide_password=False))
    policy = PipelinePolicy(quota_daily_limit=10_000, quota_pipeline_share="0.8")
    out = {}
    for check in checks.video_checks:
        context = dg.build_asset_check_context(instance=instance)
        kwargs = {} if check is checks.no_video_lost else {"app_db": app_db, "policy": policy}
        out[check.check_key.name] = check(context, **kwargs)
    return out


COUNTS = {"videos_before": 10, "videos_after": 10, "watch_rows_before": 5, "watch_rows_after": 5}


def test_checks_pass_after_a_pass(engine, videos, client_factory, video_gate):
    videos.store(channels=2, per_channel=5)
    _run(engine, videos, client_factory, video_gate)
    results = _checks(engine, videos.world.now, **COUNTS)
    assert all(r.passed for r in results.values()), {k: r.metadata for k, r in results.items()}


def test_freshness_warns_when_a_tier_falls_behind(engine, videos, client_factory, video_gate):
    videos.store(channels=2, per_channel=5)
    _run(engine, videos, client_factory, video_gate)
    with transaction(engine) as conn:  # as if the last refresh were 40 days ago
        conn.execute(update(VideoRefreshSchedule).values(refreshed_at=videos.world.now - timedelta(days=40)))
    result = _checks(engine, videos.world.now, **COUNTS)["video_freshness_by_tier"]
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert "monthly" in result.metadata["below_target"].value


def test_quota_split_fails_over_the_video_part(engine, videos):
    now = videos.world.now
    with transaction(engine) as conn:
        conn.execute(insert(ApiQuotaLedger).values(quota_day=quota_day(now), units_reserved=2_500, units_used=2_500,
                                                   video_units=2_001, updated_at=now))
    result = _checks(engine, now, **COUNTS)["video_quota_split"]
    assert not result.passed and result.metadata["video_limit"].value == 2_000


def test_no_video_lost_fails_when_rows_went_missing(engine, videos):
    results = _checks(engine, videos.world.now, **(COUNTS | {"watch_rows_after": 4}))
    assert not results["no_video_lost"].passed and results["no_video_lost"].metadata["watch_rows_lost"].value == 1


def test_report_and_digest_list_videos_gone_and_back(engine, videos, client_factory, video_gate):
    ids = videos.store(channels=1, per_channel=4)
    videos.set_status(ids[0], "deleted")
    videos.set_status(ids[1], "private")
    _run(engine, videos, client_factory, video_gate)
    videos.set_status(ids[1], "public")
    videos.advance(8)
    _run(engine, videos, client_factory, video_gate, run="r2")
    now = videos.world.now
    report = build_freshness_report(engine, now, QuotaLedger(engine, 8_000, now=lambda: now), REPORT_RULES,
                                    videos=VideoReportRules(RULES, 2_000))
    assert [c.video_id for c in report.videos.came_back] == [ids[1]]
    assert report.videos.units_used == 1 and report.videos.units_limit == 2_000
    assert f"| {ids[1]} | deleted | available |" in render_markdown(report)
    assert "Videos gone and back (24 h):" in render_text(report)
    facts = digest_facts(engine, now - timedelta(days=10), now, failure_cap=5)
    assert sorted(facts["videos_gone"]) == sorted([f"{ids[0]} (deleted)", f"{ids[1]} (deleted)"])
    assert facts["videos_back"] == [ids[1]]
    text = digest_message(Digest(day=now.date(), **facts), "http://ui").text
    assert "Video availability: 2 unavailable, 1 back." in text and ids[1] in text
