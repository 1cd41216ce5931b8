"""Asset checks on video_metadata: freshness by tier, the quota split, no video or watch row lost.

They judge at the latest materialization's cycle time (defs.cycle.checked_cycle), like the channel checks.
"""

import dagster as dg

from channel_assets.db.videos.report_rows import video_freshness
from channel_assets.defs.cycle import checked_cycle
from channel_assets.defs.resources import AppDatabase, PipelinePolicy
from channel_assets.defs.videos.assets import video_metadata

FRESH_TARGET_PCT = 95.0


@dg.asset_check(asset=video_metadata, description="≥95% of refreshed available videos within their tier's interval, "
                                                  "in every tier.")
def video_freshness_by_tier(context: dg.AssetCheckExecutionContext, app_db: AppDatabase,
                            policy: PipelinePolicy) -> dg.AssetCheckResult:
    now, _ = checked_cycle(context, video_metadata)
    tiers = video_freshness(app_db.engine, now, policy.video_tiers)
    below = [t.tier for t in tiers if t.within_pct < FRESH_TARGET_PCT]
    return dg.AssetCheckResult(
        passed=not below, severity=dg.AssetCheckSeverity.WARN,
        metadata={"target_pct": FRESH_TARGET_PCT, "below_target": ", ".join(below),
                  "per_tier": dg.MetadataValue.json({t.tier: {
                      "within_pct": t.within_pct, "available": t.available, "never_refreshed": t.never_refreshed,
                      "within": t.within, "unavailable": t.unavailable} for t in tiers})})


@dg.asset_check(asset=video_metadata, description="The video refresh spent no more than its part of the quota today.")
def video_quota_split(context: dg.AssetCheckExecutionContext, app_db: AppDatabase,
                      policy: PipelinePolicy) -> dg.AssetCheckResult:
    now, _ = checked_cycle(context, video_metadata)
    status = policy.video_ledger(app_db.engine, now=lambda: now).status()
    return dg.AssetCheckResult(
        passed=status.video_used <= policy.video_quota_limit, severity=dg.AssetCheckSeverity.ERROR,
        metadata={"video_units": status.video_used, "video_limit": policy.video_quota_limit,
                  "pipeline_units": status.reserved, "pipeline_limit": status.limit, "quota_day": str(status.day)})


@dg.asset_check(asset=video_metadata, description="No video and no watch row lost by the run (counts before and "
                                                  "after; the refresh never deletes).")
def no_video_lost(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    _, md = checked_cycle(context, video_metadata)
    if "videos_before" not in md:
        return dg.AssetCheckResult(passed=True, metadata={"note": "no video_metadata run yet"})
    lost = {"videos": md["videos_before"] - md["videos_after"],
            "watch_rows": md["watch_rows_before"] - md["watch_rows_after"]}
    return dg.AssetCheckResult(
        passed=lost["videos"] <= 0 and lost["watch_rows"] <= 0, severity=dg.AssetCheckSeverity.ERROR,
        metadata={**{k: md[k] for k in ("videos_before", "videos_after", "watch_rows_before", "watch_rows_after")},
                  "videos_lost": max(lost["videos"], 0), "watch_rows_lost": max(lost["watch_rows"], 0)})


video_checks = [video_freshness_by_tier, video_quota_split, no_video_lost]
