"""Asset checks on channel_metadata: freshness, 30-day policy, success rate, quota levels.

They judge the state as of the latest cycle's clock (defs.cycle.checked_cycle), which is the wall clock in
production and the emulator's clock in the demo and tests.
"""

from datetime import datetime

import dagster as dg

from channel_assets.db.audit.update_log import success_rate
from channel_assets.defs.cycle import checked_cycle
from channel_assets.defs.refresh.assets import channel_metadata
from channel_assets.defs.resources import AppDatabase, PipelinePolicy
from channel_assets.refresh.quota_levels import (
    QUOTA_ERROR_PCT_OF_DAILY,
    QUOTA_WARN_PCT_OF_SHARE,
    quota_levels,
)
from channel_assets.refresh.timetable import REPORT_RULES
from channel_assets.reporting.freshness_report import build_freshness_report
from channel_assets.reporting.markdown import md_table

FRESH_TARGET_PCT = 95.0
SUCCESS_TARGET_PCT = 98.0


def check_now(context: dg.AssetCheckExecutionContext) -> datetime:
    return checked_cycle(context, channel_metadata)[0]


def _report(context, app_db: AppDatabase, policy: PipelinePolicy):
    now = check_now(context)
    return build_freshness_report(app_db.engine, now, policy.ledger(app_db.engine, now=lambda: now), REPORT_RULES)


def _stale_table(report) -> dg.MetadataValue:
    return dg.MetadataValue.md(md_table(("channel", "title", "tier", "last updated"),
                                        [[r[0], r[1], r[2], f"{r[3]:%Y-%m-%d %H:%M}"] for r in report.stale]))


@dg.asset_check(asset=channel_metadata, description="≥95% of fetched available channels within their frequency.")
def freshness_within_frequency(context: dg.AssetCheckExecutionContext, app_db: AppDatabase,
                               policy: PipelinePolicy) -> dg.AssetCheckResult:
    report = _report(context, app_db, policy)
    return dg.AssetCheckResult(
        passed=report.within_pct >= FRESH_TARGET_PCT, severity=dg.AssetCheckSeverity.WARN,
        metadata={"within_pct": float(report.within_pct), "target_pct": FRESH_TARGET_PCT,
                  "per_tier": dg.MetadataValue.json({t.tier: t.within_pct for t in report.tiers}),
                  "most_stale": _stale_table(report)})


@dg.asset_check(asset=channel_metadata, description="YouTube policy: no available channel older than 30 days.")
def within_30_day_policy(context: dg.AssetCheckExecutionContext, app_db: AppDatabase,
                               policy: PipelinePolicy) -> dg.AssetCheckResult:
    report = _report(context, app_db, policy)
    return dg.AssetCheckResult(
        passed=report.over_policy == 0, severity=dg.AssetCheckSeverity.ERROR,
        metadata={"over_30_days": report.over_policy, "most_stale": _stale_table(report)})


@dg.asset_check(asset=channel_metadata, description="≥98% of channel refresh attempts succeeded in the last 24 h.")
def update_success_rate(context: dg.AssetCheckExecutionContext, app_db: AppDatabase) -> dg.AssetCheckResult:
    rate = success_rate(app_db.engine, check_now(context))
    return dg.AssetCheckResult(
        passed=rate.pct >= SUCCESS_TARGET_PCT, severity=dg.AssetCheckSeverity.WARN,
        metadata={"success_pct": float(rate.pct), "attempts": rate.attempts, "failed": rate.failed,
                  "recent_failures": dg.MetadataValue.md(md_table(("channel", "error"), rate.recent_failures))})


def _quota(context, app_db: AppDatabase, policy: PipelinePolicy):
    now = check_now(context)
    status = policy.ledger(app_db.engine, now=lambda: now).status()
    metadata = {"day": str(status.day), "used": status.used, "reserved": status.reserved,
                "share_limit": status.limit, "daily_limit": policy.quota_daily_limit, "exhausted": status.exhausted}
    return quota_levels(status, policy.quota_daily_limit), metadata


@dg.asset_check(asset=channel_metadata, description=f"Units used today (Pacific day) stay under "
                f"{QUOTA_WARN_PCT_OF_SHARE}% of the pipeline's share (seed 000's warning; the alerts' quota_75).")
def quota_under_warning_level(context: dg.AssetCheckExecutionContext, app_db: AppDatabase,
                              policy: PipelinePolicy) -> dg.AssetCheckResult:
    levels, metadata = _quota(context, app_db, policy)
    return dg.AssetCheckResult(passed=not levels.warn, severity=dg.AssetCheckSeverity.WARN, metadata=metadata)


@dg.asset_check(asset=channel_metadata, description=f"Units used today stay under {QUOTA_ERROR_PCT_OF_DAILY}% of "
                "the day's whole quota (seed 000's error; the alerts' quota_80).")
def quota_under_error_level(context: dg.AssetCheckExecutionContext, app_db: AppDatabase,
                            policy: PipelinePolicy) -> dg.AssetCheckResult:
    levels, metadata = _quota(context, app_db, policy)
    return dg.AssetCheckResult(passed=not levels.error, severity=dg.AssetCheckSeverity.ERROR, metadata=metadata)


@dg.asset_check(asset=channel_metadata, description="YouTube did not answer quotaExceeded while the ledger still "
                "had units left, i.e. exhausted with units used (calls made plus blocks held by running steps) "
                "below the share: something else spends this Google project's quota. quotaExceeded once the "
                "share is used up passes.")
def quota_not_exceeded_early(context: dg.AssetCheckExecutionContext, app_db: AppDatabase,
                             policy: PipelinePolicy) -> dg.AssetCheckResult:
    levels, metadata = _quota(context, app_db, policy)
    return dg.AssetCheckResult(passed=not levels.exceeded_early, severity=dg.AssetCheckSeverity.ERROR,
                               metadata=metadata)


metadata_checks = [freshness_within_frequency, within_30_day_policy, update_success_rate, quota_under_warning_level,
                   quota_under_error_level, quota_not_exceeded_early]
