"""The video refresh request job: chosen videos refreshed now, or marked for the next run."""

from typing import Literal

import dagster as dg

from channel_assets.defs.cycle import CycleConfig
from channel_assets.defs.refresh.api_session import one_line_failure
from channel_assets.defs.resources import AppDatabase, PipelinePolicy, YouTubeApi
from channel_assets.defs.videos.assets import video_session, video_summary_metadata
from channel_assets.videos.requests import UnknownVideos, refresh_videos_now, request_videos
from channel_assets.youtube import ConfigurationError, InvalidVideoId


class RefreshVideosConfig(CycleConfig):
    """Video ids (11 of [A-Za-z0-9_-]) already in videos_video. `when`: `now` refreshes them in this run
    (within the video part of the quota); `next_run` marks them for the next refresh run (spent first)."""

    video_ids: list[str]
    when: Literal["now", "next_run"] = "now"


@dg.op(pool="youtube_api", tags={"domain": "videos"})
def refresh_videos_op(context: dg.OpExecutionContext, config: RefreshVideosConfig, app_db: AppDatabase,
                      policy: PipelinePolicy, youtube: YouTubeApi) -> dg.Output:
    cycle = config.cycle(context, "refresh_videos")
    engine, rules = app_db.engine, policy.video_tiers
    try:
        if config.when == "next_run":
            marked = request_videos(engine, config.video_ids, cycle.now, rules)
            return dg.Output(None, metadata={"videos_requested": len(config.video_ids), "newly_marked": marked})
        gate, client = video_session(app_db, policy, youtube, cycle)
        try:
            summary = refresh_videos_now(engine, client, gate, cycle, config.video_ids, rules,
                                         in_flight=youtube.max_calls_in_flight)
        finally:
            client.close()
    except (InvalidVideoId, UnknownVideos, ValueError, ConfigurationError) as exc:
        raise one_line_failure(exc) from None
    return dg.Output(None, metadata=video_summary_metadata(summary, cycle) | {
        "videos_requested": len(config.video_ids)})


@dg.job(description="Refresh the listed videos now (or mark them for the next run), whatever their tier.",
        tags={"domain": "videos"})
def refresh_videos():
    refresh_videos_op()


video_jobs = [refresh_videos]
