"""The status at a glance (seed 000's status summary): channels updated today, each schedule's last run
from the Dagster instance (or a plain "not shown" without one), and what waits for a human."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from channel_assets.db.refresh.quota_ledger import QuotaLedger
from channel_assets.defs.reporting.last_runs import last_scheduled_runs
from channel_assets.refresh.timetable import REPORT_RULES, REPORTED_SCHEDULES
from channel_assets.reporting.freshness_report import build_freshness_report, render_markdown, render_text
from channel_assets_tests.refresh.test_tiers import NOW, add_channel, cid


def _population(engine) -> None:
    add_channel(engine, 1, last_updated=NOW - timedelta(hours=1), next_refresh_at=NOW + timedelta(days=1))
    add_channel(engine, 2, last_updated=NOW - timedelta(days=1), next_refresh_at=NOW)  # yesterday
    add_channel(engine, 3, failed_update_count=5, is_available=False, last_error="channel closed (channelClosed)")
    add_channel(engine, 4, removal_hold_reason="safety hold: watch rows 12000")
    add_channel(engine, 5, orphaned_at=NOW - timedelta(days=9))  # nobody follows it, nobody removed it
    add_channel(engine, 6, removal_hold_reason="safety hold: 90 videos", soft_deleted_at=NOW - timedelta(days=8))


def test_report_shows_updated_today_capped_held_and_overdue_orphans(engine):
    _population(engine)
    report = build_freshness_report(engine, NOW, QuotaLedger(engine, 8000, now=lambda: NOW), REPORT_RULES)
    assert report.attention.updated_today == 1
    assert [r[0] for r in report.attention.capped] == [cid(3)] and [r[0] for r in report.attention.held] == [cid(4), cid(6)]
    assert report.orphans.overdue == 1
    text = render_text(report)
    assert "Updated today: 1 channels" in text and cid(3) in text
    assert "safety hold at soft delete: watch rows 12000" in text and "safety hold at hard delete: 90 videos" in text
    assert "1 past the 7-day deadline (is daily_cleanup on?)" in text
    assert "not shown: no Dagster instance" in text and "channel-assets history UC" in text


def test_last_runs_come_from_the_instance_per_schedule(engine):
    _population(engine)
    instance = dg.DagsterInstance.ephemeral()
    job = dg.GraphDefinition("g", node_defs=[dg.OpDefinition(name="noop", compute_fn=lambda ctx: None)]).to_job("j")
    run = instance.create_run_for_job(job, tags={"dagster/schedule_name": "daily_full_refresh"})
    instance.report_run_failed(run)
    runs = last_scheduled_runs(instance, REPORTED_SCHEDULES)
    by_name = {r.schedule: r for r in runs}
    assert by_name["daily_full_refresh"].status == "FAILURE" and by_name["daily_full_refresh"].run_id == run.run_id
    assert by_name["quota_reset_catch_up"].status == "never run" and "daily_cleanup" in by_name
    report = build_freshness_report(engine, NOW, QuotaLedger(engine, 8000, now=lambda: NOW), REPORT_RULES, runs)
    markdown = render_markdown(report)
    assert "| FAILURE |" in markdown and "never run" in markdown and run.run_id in render_text(report)
