"""The video_metadata asset: a thin wrapper over channel_assets.videos.refresh."""

import dagster as dg

from channel_assets.cycle import Cycle
from channel_assets.db.core.sharding import shard_from_key
from channel_assets.db.videos.stats import video_counts
from channel_assets.defs.cycle import CycleConfig, cycle_metadata
from channel_assets.defs.owners import OWNERS
from channel_assets.defs.partitions import shard_partitions
from channel_assets.defs.refresh.api_session import one_line_failure
from channel_assets.defs.refresh.assets import DAILY_FRESHNESS, channel_metadata, channel_uploads
from channel_assets.defs.resources import AppDatabase, PipelinePolicy, YouTubeApi
from channel_assets.refresh.quota_gate import CountingGate
from channel_assets.reporting.markdown import md_table
from channel_assets.videos.refresh import VideoRefreshSummary, refresh_video_shards
from channel_assets.youtube import ConfigurationError


def video_session(app_db: AppDatabase, policy: PipelinePolicy, youtube: YouTubeApi, cycle: Cycle):
    """The step's gate on the video ledger (the pipeline's share, capped at the video part) and its client."""
    gate = CountingGate(policy.video_ledger(app_db.engine, now=cycle.ledger_now))
    try:
        return gate, youtube.new_client(gate)
    except ConfigurationError as exc:
        raise one_line_failure(exc) from None


def video_summary_metadata(s: VideoRefreshSummary, cycle: Cycle) -> dict:
    return {
        **cycle_metadata(cycle), "due": s.due, "attempted": s.attempted, "answered": s.answered,
        "written": s.written, "title_changes": s.title_changes, "description_changes": s.description_changes,
        "suspected_first_pass": s.suspected, "went_unavailable": s.went, "came_back": s.came_back,
        "still_unavailable": s.still_gone, "invalid": s.invalid, "failed": s.failed,
        "deferred": s.deferred_total, "deferred_by_tier": dg.MetadataValue.json(s.deferred),
        "quota_units": s.quota_units, "videos_per_unit": float(s.videos_per_unit),
        "channel_units_kept": s.channel_units_reserved, "wall_s": float(s.wall_s),
        "videos_per_s": float(s.videos_per_s), "stopped_by_quota": s.stopped_by_quota or "",
        "stopped_by_circuit": s.stopped_by_circuit or "",
        "went": dg.MetadataValue.md(md_table(("video", "reason"), s.went_list)),
        "came_back_list": dg.MetadataValue.md(md_table(("video", "was"), s.came_back_list)),
        "failures": dg.MetadataValue.md(md_table(("first video of the batch", "error"), s.failures[:20])),
    }


@dg.asset(
    partitions_def=shard_partitions, backfill_policy=dg.BackfillPolicy.single_run(), pool="youtube_api",
    kinds={"youtube", "postgres"}, group_name="refresh", owners=OWNERS, tags={"domain": "videos"},
    deps=[channel_metadata, channel_uploads], freshness_policy=DAILY_FRESHNESS,
    description="Counts, texts, status and availability of the shard's due videos (tiers by age, watches, "
                "requests), in 50-id videos.list batches within the video part of the quota, after the "
                "channels; gone videos confirmed on a second pass and marked, never deleted.",
)
def video_metadata(context: dg.AssetExecutionContext, config: CycleConfig, app_db: AppDatabase,
                   policy: PipelinePolicy, youtube: YouTubeApi) -> dg.MaterializeResult:
    cycle = config.cycle(context, "video_metadata")
    engine = app_db.engine
    before = video_counts(engine)
    gate, client = video_session(app_db, policy, youtube, cycle)
    try:
        summary = refresh_video_shards(engine, client, gate, cycle, [shard_from_key(k) for k in context.partition_keys],
                                       policy.video_tiers, in_flight=youtube.max_calls_in_flight)
    except ConfigurationError as exc:
        raise one_line_failure(exc) from None
    finally:
        client.close()
    after = video_counts(engine)
    if summary.stopped_by_quota:
        context.log.warning(f"quota stopped the video pass: {summary.stopped_by_quota}; "
                            f"{summary.deferred_total} deferred")
    if summary.stopped_by_circuit:
        context.log.warning(f"the API's circuit breaker stopped the video pass: {summary.stopped_by_circuit}; "
                            f"{summary.deferred_total} deferred to the next run, none counted as failed")
    return dg.MaterializeResult(metadata=video_summary_metadata(summary, cycle) | {
        "shards": ",".join(context.partition_keys), "videos_before": before.videos, "videos_after": after.videos,
        "watch_rows_before": before.watch_rows, "watch_rows_after": after.watch_rows,
        "video_quota_limit": policy.video_quota_limit})
