"""Asset checks on channel_metadata (F16): freshness, 30-day policy, success rate, quota share.

They judge the state as of the latest cycle's clock (`cycle_now` in its metadata), which is the wall
clock in production and the emulator's clock in the demo and tests.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg
from sqlalchemy import select

from channel_assets.db.models import ChannelUpdateLog
from channel_assets.db.quota_ledger import QuotaLedger
from channel_assets.refresh.assets import channel_metadata
from channel_assets.reporting.freshness import build_freshness_report
from channel_assets.reporting.markdown import md_table
from channel_assets.resources import AppDatabase

FRESH_TARGET_PCT = 95.0
SUCCESS_TARGET_PCT = 98.0
SUCCESS_WINDOW = timedelta(hours=24)


def check_now(context: dg.AssetCheckExecutionContext) -> datetime:
    event = context.instance.get_latest_materialization_event(channel_metadata.key)
    value = event.asset_materialization.metadata.get("cycle_now") if event and event.asset_materialization else None
    return datetime.fromisoformat(value.value) if value is not None else datetime.now(UTC)


def _report(context, app_db: AppDatabase):
    now = check_now(context)
    return build_freshness_report(app_db.engine, now, QuotaLedger(app_db.engine,
                                                                   app_db.settings.quota_pipeline_limit,
                                                                   now=lambda: now))


def _stale_table(report) -> dg.MetadataValue:
    return dg.MetadataValue.md(md_table(("channel", "title", "tier", "last updated"),
                                        [[r[0], r[1], r[2], f"{r[3]:%Y-%m-%d %H:%M}"] for r in report.stale]))


@dg.asset_check(asset=channel_metadata, description="≥95% of fetched available channels within their frequency.")
def freshness_within_frequency(context: dg.AssetCheckExecutionContext, app_db: AppDatabase) -> dg.AssetCheckResult:
    report = _report(context, app_db)
    return dg.AssetCheckResult(
        passed=report.within_pct >= FRESH_TARGET_PCT, severity=dg.AssetCheckSeverity.WARN,
        metadata={"within_pct": float(report.within_pct), "target_pct": FRESH_TARGET_PCT,
                  "per_tier": dg.MetadataValue.json({t.tier: t.within_pct for t in report.tiers}),
                  "most_stale": _stale_table(report)})


@dg.asset_check(asset=channel_metadata, description="YouTube policy: no available channel older than 30 days.")
def within_30_day_policy(context: dg.AssetCheckExecutionContext, app_db: AppDatabase) -> dg.AssetCheckResult:
    report = _report(context, app_db)
    return dg.AssetCheckResult(
        passed=report.over_policy == 0, severity=dg.AssetCheckSeverity.ERROR,
        metadata={"over_30_days": report.over_policy, "most_stale": _stale_table(report)})


@dataclass(frozen=True)
class SuccessRate:
    attempts: int
    failed: int
    recent_failures: list[tuple]

    @property
    def pct(self) -> float:
        return 100.0 if not self.attempts else round(100.0 * (self.attempts - self.failed) / self.attempts, 2)


def success_rate(engine, now: datetime, window: timedelta = SUCCESS_WINDOW) -> SuccessRate:
    """Refresh attempts and failures of the metadata batches logged in (now - window, now].

    Deterministic on the cycle's clock: the window is closed on both sides, so runs stamped later (a
    simulated clock ahead, a concurrent newer cycle) never leak in. A channel counts once per run: the
    second pass re-asks ids that were missing (they end up gone or refreshed, never failed unless the
    call itself fails), so only first-pass ids are attempts, while failures of either pass count.
    """
    log = ChannelUpdateLog.__table__.c
    in_window = (log.created_at > now - window, log.created_at <= now, log.update_type == "metadata")
    with engine.connect() as conn:
        batches = conn.execute(select(log.changes_made).where(*in_window, log.channel_id.is_(None))).scalars().all()
        failures = conn.execute(select(log.channel_id, log.error_message).where(
            *in_window, log.status == "failed", log.channel_id.is_not(None)).order_by(log.id.desc()).limit(10)).all()
    attempts = failed = 0
    for b in batches:
        batch = (b or {}).get("batch")
        if not batch:
            continue
        attempts += 0 if batch.get("second_pass") else batch["asked"]
        failed += batch["failed"]
    return SuccessRate(attempts, failed, [tuple(r) for r in failures])


@dg.asset_check(asset=channel_metadata, description="≥98% of channel refresh attempts succeeded in the last 24 h.")
def update_success_rate(context: dg.AssetCheckExecutionContext, app_db: AppDatabase) -> dg.AssetCheckResult:
    rate = success_rate(app_db.engine, check_now(context))
    return dg.AssetCheckResult(
        passed=rate.pct >= SUCCESS_TARGET_PCT, severity=dg.AssetCheckSeverity.WARN,
        metadata={"success_pct": float(rate.pct), "attempts": rate.attempts, "failed": rate.failed,
                  "recent_failures": dg.MetadataValue.md(md_table(("channel", "error"), rate.recent_failures))})


@dg.asset_check(asset=channel_metadata, description="Units spent today (Pacific day) stay within the pipeline's share.")
def quota_within_share(context: dg.AssetCheckExecutionContext, app_db: AppDatabase) -> dg.AssetCheckResult:
    now = check_now(context)
    status = QuotaLedger(app_db.engine, app_db.settings.quota_pipeline_limit, now=lambda: now).status()
    return dg.AssetCheckResult(
        passed=status.used <= status.limit, severity=dg.AssetCheckSeverity.ERROR,
        metadata={"day": str(status.day), "used": status.used, "reserved": status.reserved,
                  "share_limit": status.limit, "exhausted": status.exhausted})


metadata_checks = [freshness_within_frequency, within_30_day_policy, update_success_rate, quota_within_share]
