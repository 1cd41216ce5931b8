"""Dagster assets of the refresh domain: thin wrappers over the plain-Python domain functions."""

from datetime import date, timedelta

import dagster as dg

from channel_assets.db.core.sharding import shard_from_key
from channel_assets.db.refresh.statistics import snapshot_statistics
from channel_assets.defs.cycle import CycleConfig, cycle_metadata
from channel_assets.defs.owners import OWNERS
from channel_assets.defs.partitions import daily_partitions, shard_partitions
from channel_assets.defs.refresh.api_session import api_session, summary_metadata
from channel_assets.defs.resources import AppDatabase, PipelinePolicy, YouTubeApi
from channel_assets.refresh.metadata import refresh_shards
from channel_assets.refresh.tiers import apply_tiers
from channel_assets.refresh.uploads import refresh_uploads
from channel_assets.reporting.markdown import md_table

DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=26), warn_window=timedelta(hours=25))


class MetadataConfig(CycleConfig):
    """`priority_only`: the 30-minute run refreshes only due critical/priority channels and due retries of
    failed channels (their first retry is 30 minutes after the failure), and skips tiering."""

    priority_only: bool = False


def _shards(context: dg.AssetExecutionContext) -> list[int]:
    return [shard_from_key(key) for key in context.partition_keys]


@dg.asset(
    partitions_def=shard_partitions, backfill_policy=dg.BackfillPolicy.single_run(), pool="youtube_api",
    kinds={"youtube", "postgres"}, group_name="refresh", owners=OWNERS, tags={"domain": "refresh"},
    freshness_policy=DAILY_FRESHNESS,
    description="Channel metadata and statistics of the shard's due channels, in 50-id channels.list batches "
                "within the quota share; gone channels confirmed on a second pass.",
)
def channel_metadata(context: dg.AssetExecutionContext, config: MetadataConfig, app_db: AppDatabase,
                     policy: PipelinePolicy, youtube: YouTubeApi) -> dg.MaterializeResult:
    cycle = config.cycle(context, "channel_metadata")
    engine = app_db.engine
    tiers = None if config.priority_only else apply_tiers(engine, cycle.now)
    with api_session(app_db, policy, youtube, cycle) as (gate, client):
        summary = refresh_shards(engine, client, gate, cycle, _shards(context), in_flight=youtube.max_calls_in_flight,
                                 priority_only=config.priority_only)
    if summary.stopped_by_quota:
        context.log.warning(f"quota stopped the cycle: {summary.stopped_by_quota}; {summary.deferred_total} deferred")
    if summary.stopped_by_circuit:
        context.log.warning(f"the API's circuit breaker stopped the cycle: {summary.stopped_by_circuit}; "
                            f"{summary.deferred_total} deferred to the next run, none counted as failed")
    metadata = summary_metadata(summary, cycle) | {"shards": ",".join(context.partition_keys),
                                                 "priority_only": config.priority_only}
    if tiers is not None:
        metadata |= {"tier_promoted": tiers.promoted, "tier_demoted": tiers.demoted,
                     "tier_to_daily": tiers.to_daily, "tier_to_weekly": tiers.to_weekly,
                     "tier_to_monthly": tiers.to_monthly, "app_saved_since_refresh": tiers.app_saved,
                     "tier_left_for_next_run": tiers.left_for_next_run}
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    partitions_def=shard_partitions, backfill_policy=dg.BackfillPolicy.single_run(), pool="youtube_api",
    kinds={"youtube", "postgres"}, group_name="refresh", owners=OWNERS, tags={"domain": "refresh"},
    deps=[channel_metadata], freshness_policy=DAILY_FRESHNESS,
    description="New uploads since the last pull: public feed first (0 quota), uploads playlist as fallback, "
                "videos.list details; insert-or-ignore on (channel, video id).",
)
def channel_uploads(context: dg.AssetExecutionContext, config: CycleConfig, app_db: AppDatabase,
                    policy: PipelinePolicy, youtube: YouTubeApi) -> dg.MaterializeResult:
    cycle = config.cycle(context, "channel_uploads")
    with api_session(app_db, policy, youtube, cycle) as (gate, client):
        s = refresh_uploads(app_db.engine, client, gate, cycle, _shards(context), in_flight=youtube.max_calls_in_flight)
    if s.stopped_by_circuit:
        context.log.warning(f"the API's circuit breaker stopped the uploads pass: {s.stopped_by_circuit}; "
                            f"{s.deferred} channel(s) deferred to the next run, none counted as failed")
    return dg.MaterializeResult(metadata={
        **cycle_metadata(cycle), "shards": ",".join(context.partition_keys), "candidates": s.candidates,
        "checked": s.checked, "feed_hits": s.feed_hits, "feed_failures": s.feed_failures, "overflows": s.overflows,
        "playlist_pages": s.playlist_pages, "video_calls": s.video_calls, "videos_added": s.videos_added,
        "failed": s.failed, "deferred": s.deferred, "quota_units": s.quota_units,
        "units_per_channel": float(s.units_per_channel), "wall_s": float(s.wall_s),
        "stopped_by_quota": s.stopped_by_quota or "", "stopped_by_circuit": s.stopped_by_circuit or "",
        "failures": dg.MetadataValue.md(md_table(("channel", "error"), s.failures[:20])),
    })


@dg.asset(
    partitions_def=daily_partitions, kinds={"postgres"}, group_name="refresh", owners=OWNERS, tags={"domain": "refresh"},
    deps=[dg.AssetDep(channel_metadata, partition_mapping=dg.AllPartitionMapping())],
    freshness_policy=DAILY_FRESHNESS,
    description="The day's subscriber/video/view counts of every available channel (re-materializing replaces it).",
)
def channel_statistics(context: dg.AssetExecutionContext, app_db: AppDatabase) -> dg.MaterializeResult:
    s = snapshot_statistics(app_db.engine, date.fromisoformat(context.partition_key))
    return dg.MaterializeResult(metadata={
        "channels": s.channels, "subscribers_total": s.subscribers, "videos_total": s.videos,
        "views_total": s.views,
        "biggest_movers": dg.MetadataValue.md(md_table(("channel", "title", "previous", "today", "delta"),
                                                       s.movers)),
    })
