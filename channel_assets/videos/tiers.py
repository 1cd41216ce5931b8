"""The video tiers' thresholds from the settings (the tiers themselves: db.videos.tiering)."""

from __future__ import annotations

from datetime import timedelta

from channel_assets.db.videos.tiering import TIERS, VideoTierRules

__all__ = ["TIERS", "VideoTierRules", "video_tier_rules"]


def video_tier_rules(new_days: int = 7, recent_days: int = 90, watched_days: int = 30) -> VideoTierRules:
    """CHANNEL_ASSETS_VIDEO_NEW_DAYS / _RECENT_DAYS / _WATCHED_DAYS as tier rules (one definition)."""
    if recent_days < new_days:
        raise ValueError(f"CHANNEL_ASSETS_VIDEO_RECENT_DAYS ({recent_days}) must be >= "
                         f"CHANNEL_ASSETS_VIDEO_NEW_DAYS ({new_days})")
    return VideoTierRules(new_age=timedelta(days=new_days), recent_age=timedelta(days=recent_days),
                          watched_window=timedelta(days=watched_days))
