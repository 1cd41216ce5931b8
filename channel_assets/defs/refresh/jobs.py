"""Jobs of the refresh domain: all-shard cycles, the 30-minute priority run, daily series, forced refresh,
and the operator tools for problem channels."""

import dagster as dg

from channel_assets.db.core.sharding import SHARD_COUNT
from channel_assets.defs.cycle import CycleConfig
from channel_assets.defs.refresh.api_session import api_session, one_line_failure, summary_metadata
from channel_assets.defs.refresh.assets import (
    channel_metadata,
    channel_statistics,
    channel_uploads,
)
from channel_assets.defs.resources import AppDatabase, PipelinePolicy, YouTubeApi
from channel_assets.defs.videos.assets import video_metadata
from channel_assets.refresh.forced import UnknownChannels, force_refresh
from channel_assets.refresh.operator_actions import apply_channel_action
from channel_assets.refresh.uploads import refresh_uploads
from channel_assets.youtube import InvalidChannelId

refresh_all_shards_job = dg.define_asset_job(
    "refresh_all_shards", selection=[channel_metadata, channel_uploads, video_metadata],
    description="Metadata then uploads of every due channel, then the due videos' metadata (within the video "
                "part of the quota); schedules run all shards in one run.")
priority_refresh_job = dg.define_asset_job(
    "priority_refresh", selection=[channel_metadata],
    config={"ops": {"channel_metadata": {"config": {"priority_only": True}}}},
    description="Only due critical/priority channels (30-minute interval) and due retries of failed channels.")
# Partitioning is inferred from the selected assets (shards, or days).
statistics_job = dg.define_asset_job("statistics_snapshot", selection=[channel_statistics])


class ForceRefreshConfig(CycleConfig):
    """Channel ids (`UC` + 22 of [A-Za-z0-9_-]) already in videos_channel; refreshed now whatever their tier."""

    channel_ids: list[str]


@dg.op(pool="youtube_api", tags={"domain": "refresh"})
def force_refresh_op(context: dg.OpExecutionContext, config: ForceRefreshConfig, app_db: AppDatabase,
                     policy: PipelinePolicy, youtube: YouTubeApi) -> dg.Output:
    cycle = config.cycle(context, "force_refresh_channels")
    in_flight = youtube.max_calls_in_flight
    with api_session(app_db, policy, youtube, cycle) as (gate, client):
        try:
            summary = force_refresh(app_db.engine, client, gate, cycle, config.channel_ids, in_flight=in_flight)
            uploads = refresh_uploads(app_db.engine, client, gate, cycle, range(SHARD_COUNT), in_flight=in_flight,
                                      channel_ids=config.channel_ids)
        except (InvalidChannelId, UnknownChannels, ValueError) as exc:
            raise one_line_failure(exc) from None
    return dg.Output(None, metadata=summary_metadata(summary, cycle) | {
        "channels_requested": len(config.channel_ids), "videos_added": uploads.videos_added})


@dg.job(description="Refresh the listed channels now (metadata and uploads), whatever their tier, within quota.",
        tags={"domain": "refresh"})
def force_refresh_channels():
    force_refresh_op()


class ChannelFlagsConfig(CycleConfig):
    """One of refresh.channel_flags.ACTIONS on the listed channels; a reason and an actor are required."""

    action: str
    channel_ids: list[str]
    reason: str
    actor: str
    frequency: str | None = None


@dg.op(tags={"domain": "refresh"})
def set_channel_flags_op(context: dg.OpExecutionContext, config: ChannelFlagsConfig, app_db: AppDatabase) -> None:
    try:
        changed = apply_channel_action(app_db.engine, config.action, config.channel_ids, reason=config.reason,
                                       cycle=config.cycle(context, config.actor), frequency=config.frequency)
    except ValueError as exc:
        raise one_line_failure(exc) from None
    context.log.info(f"{config.action}: {changed} channel(s) changed, logged in channel_update_logs")


@dg.job(description="Operator tools for problem channels: mark critical or not, pin or unpin the frequency, "
                    "reset failures, mark available or unavailable; logged with reason and actor.",
        tags={"domain": "refresh"})
def set_channel_flags():
    set_channel_flags_op()


refresh_jobs = [refresh_all_shards_job, priority_refresh_job, statistics_job, force_refresh_channels,
                set_channel_flags]
