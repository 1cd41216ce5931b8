"""The success-rate and quota checks on the cycle's clock (no API)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
from sqlalchemy import insert

from channel_assets.db.audit.update_log import AuditEvent, success_rate, write_events
from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import ApiQuotaLedger
from channel_assets.db.refresh.quota_ledger import quota_day
from channel_assets.defs.refresh import checks
from channel_assets.defs.refresh.checks import SUCCESS_TARGET_PCT
from channel_assets.defs.resources import AppDatabase, PipelinePolicy

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def batch(at: datetime, asked: int, failed: int, *, second_pass: bool = False,
          update_type: str = "metadata") -> AuditEvent:
    return AuditEvent(update_type, "failed" if failed else "success", at,
                      changes={"batch": {"asked": asked, "found": asked - failed, "gone": 0, "missing": 0,
                                         "failed": failed, "second_pass": second_pass}})


def failure(at: datetime, channel_id: str) -> AuditEvent:
    return AuditEvent("metadata", "failed", at, channel_id=channel_id, error="backendError")


def test_success_rate_counts_first_pass_attempts_in_the_closed_24h_window(engine):
    with transaction(engine) as conn:
        write_events(conn, [
            batch(NOW, 50, 0), batch(NOW, 50, 1), failure(NOW, "UC" + "a" * 22),
            batch(NOW - timedelta(hours=23), 50, 0),
            batch(NOW, 7, 0, second_pass=True),  # misses re-asked: neither attempts nor failures
            batch(NOW - timedelta(hours=24), 50, 50),  # just outside the window
            batch(NOW + timedelta(minutes=1), 50, 50),  # a later cycle (clock ahead): not this one's business
            batch(NOW, 50, 50, update_type="uploads"),
        ])
    rate = success_rate(engine, NOW)
    assert (rate.attempts, rate.failed, rate.pct) == (150, 1, 99.33)
    assert rate.pct >= SUCCESS_TARGET_PCT and rate.recent_failures == [("UC" + "a" * 22, "backendError")]
    # a failing second-pass call does count (the channels were asked in the first pass)
    with transaction(engine) as conn:
        write_events(conn, [batch(NOW, 7, 7, second_pass=True)])
    assert (success_rate(engine, NOW).attempts, success_rate(engine, NOW).failed) == (150, 8)
    assert success_rate(engine, NOW - timedelta(days=2)).attempts == 0
    assert success_rate(engine, NOW - timedelta(days=2)).pct == 100.0


def _quota_checks(engine, used: int, *, exhausted: bool = False) -> dict[str, bool]:
    """The quota checks on a ledger with `used` units today (Pacific day of NOW), daily quota 10,000."""
    with transaction(engine) as conn:
        conn.execute(insert(ApiQuotaLedger).values(quota_day=quota_day(NOW), units_reserved=used, units_used=used,
                                                   exhausted_at=NOW if exhausted else None, updated_at=NOW))
    instance = dg.DagsterInstance.ephemeral()
    instance.report_runless_asset_event(dg.AssetMaterialization("channel_metadata",
                                                                metadata={"cycle_now": NOW.isoformat()}))
    app_db = AppDatabase(database_url=engine.url.render_as_string(hide_password=False))
    policy = PipelinePolicy(quota_daily_limit=10_000, quota_pipeline_share="0.8")
    out = {}
    for check in (checks.quota_under_warning_level, checks.quota_under_error_level, checks.quota_not_exceeded_early):
        context = dg.build_asset_check_context(instance=instance)
        out[check.check_key.name] = check(context, app_db=app_db, policy=policy).passed
    return out


def test_quota_checks_pass_below_75_percent_of_the_share(engine):
    assert _quota_checks(engine, 5_999) == {"quota_under_warning_level": True, "quota_under_error_level": True,
                                            "quota_not_exceeded_early": True}


def test_quota_checks_fail_when_the_share_is_spent(engine):
    # the ledger never passes the share (8,000), which at the default share is 80% of the day: that fails
    assert _quota_checks(engine, 8_000) == {"quota_under_warning_level": False, "quota_under_error_level": False,
                                            "quota_not_exceeded_early": True}


def test_quota_check_fails_when_youtube_said_quota_exceeded_before_the_share(engine):
    assert _quota_checks(engine, 6_500, exhausted=True) == {
        "quota_under_warning_level": False, "quota_under_error_level": True, "quota_not_exceeded_early": False}


def test_quota_exceeded_once_the_whole_share_is_used_is_expected(engine):
    """Share 1.0 and similar: quotaExceeded exactly at the share's end is no sign of another spender."""
    assert _quota_checks(engine, 8_000, exhausted=True)["quota_not_exceeded_early"] is True
