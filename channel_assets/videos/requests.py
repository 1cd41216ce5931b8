"""Refresh requests for chosen videos (the app's users, an operator): validated ids, next run or now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine

from channel_assets.cycle import Cycle
from channel_assets.db.videos.selection import DueVideos, ensure_scheduled, request_refresh, videos_by_id
from channel_assets.db.videos.tiering import VideoTierRules
from channel_assets.refresh.quota_gate import CountingGate
from channel_assets.videos.refresh import VideoRefreshSummary, plan_within_budget, refresh_videos
from channel_assets.youtube import YouTubeClient, validate_video_ids

MAX_REQUESTED = 5_000


class UnknownVideos(ValueError):
    """Ids that are well formed but not in videos_video: the app imports videos, not the pipeline."""


def resolve_videos(engine: Engine, video_ids: Sequence[str], now: datetime, rules: VideoTierRules) -> DueVideos:
    """Validate (raises InvalidVideoId naming the bad id) and look the ids up; nothing is changed."""
    ids = validate_video_ids(video_ids)
    if not ids:
        raise ValueError("no video ids given")
    if len(ids) > MAX_REQUESTED:
        raise ValueError(f"at most {MAX_REQUESTED} video ids per request, got {len(ids)}")
    found = videos_by_id(engine, ids, now, rules)
    stored = set(found.video_ids())
    unknown = [vid for vid in ids if vid not in stored]
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise UnknownVideos(f"not in videos_video: {shown}")
    return found


def request_videos(engine: Engine, video_ids: Sequence[str], now: datetime, rules: VideoTierRules) -> int:
    """Mark the videos for the next run (the requested tier is spent first); returns the rows newly marked."""
    resolve_videos(engine, video_ids, now, rules)
    return request_refresh(engine, validate_video_ids(video_ids), now)


def refresh_videos_now(engine: Engine, client: YouTubeClient, gate: CountingGate, cycle: Cycle,
                       video_ids: Sequence[str], rules: VideoTierRules, *, in_flight: int = 16) -> VideoRefreshSummary:
    """Refresh the videos now whatever their tier, within the video part of the quota."""
    videos = resolve_videos(engine, video_ids, cycle.now, rules)
    ensure_scheduled(engine)  # their schedule rows get the next due date
    planned, deferred = plan_within_budget(videos, gate.status().left)
    summary = refresh_videos(engine, client, gate, cycle, planned, rules, in_flight=in_flight)
    summary.due = len(videos)
    for tier, n in deferred.items():
        summary.deferred[tier] = summary.deferred.get(tier, 0) + n
    return summary
