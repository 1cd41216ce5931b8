"""The daily freshness report: the status an operator reads first, as markdown in the UI."""

import dagster as dg

from channel_assets.defs.cycle import CycleConfig, cycle_metadata
from channel_assets.defs.owners import OWNERS
from channel_assets.defs.partitions import daily_partitions
from channel_assets.defs.refresh.assets import channel_metadata, channel_uploads
from channel_assets.defs.reporting.last_runs import last_scheduled_runs
from channel_assets.defs.resources import AppDatabase, PipelinePolicy
from channel_assets.refresh.timetable import REPORT_RULES, REPORTED_SCHEDULES
from channel_assets.reporting.freshness_report import (
    VideoReportRules,
    build_freshness_report,
    render_markdown,
)


@dg.asset(
    partitions_def=daily_partitions, kinds={"postgres"}, group_name="reporting", owners=OWNERS,
    tags={"domain": "reporting"},
    deps=[dg.AssetDep(channel_metadata, partition_mapping=dg.AllPartitionMapping()),
          dg.AssetDep(channel_uploads, partition_mapping=dg.AllPartitionMapping())],
    description="Freshness per tier, age distribution, most stale and failing channels, quota and next runs; "
                "updated today, each schedule's last run, capped and held channels, overdue orphans; videos "
                "per tier and the videos that went or came back.",
)
def channel_freshness_report(context: dg.AssetExecutionContext, config: CycleConfig,
                             app_db: AppDatabase, policy: PipelinePolicy) -> dg.MaterializeResult:
    cycle = config.cycle(context, "channel_freshness_report")
    ledger = policy.ledger(app_db.engine, now=cycle.ledger_now)
    report = build_freshness_report(app_db.engine, cycle.now, ledger, REPORT_RULES,
                                    last_scheduled_runs(context.instance, REPORTED_SCHEDULES),
                                    VideoReportRules(policy.video_tiers, policy.video_quota_limit))
    return dg.MaterializeResult(metadata={
        **cycle_metadata(cycle), "within_frequency_pct": float(report.within_pct), "over_30_days": report.over_policy,
        "available": report.available, "unavailable": report.unavailable, "failing": report.failing,
        "due": report.due, "quota_used": report.quota.used, "quota_left": report.quota.left,
        "updated_today": report.attention.updated_today, "capped": len(report.attention.capped),
        "held_removals": len(report.attention.held), "orphans_overdue": report.orphans.overdue,
        "video_units_used": report.videos.units_used, "videos_went_24h": len(report.videos.went),
        "videos_came_back_24h": len(report.videos.came_back),
        "report": dg.MetadataValue.md(render_markdown(report)),
    })


freshness_report_job = dg.define_asset_job("freshness_report", selection=[channel_freshness_report])
