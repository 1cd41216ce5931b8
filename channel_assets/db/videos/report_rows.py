"""What the video checks, the freshness report and the digest read: freshness per tier (by the one tier
definition, db.videos.tiering), availability changes from the update log, the video part of the quota."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from channel_assets.db.core.engine import transaction
from channel_assets.db.videos.tiering import TIERS, WATCHED, VideoTierRules, tier_case

_WITHIN = "CASE t.tier " + " ".join(f"WHEN '{tier}' THEN %(fresh_{tier})s" for tier in TIERS) + " END"
# One pass over videos_video (a check's read, once per run, not a per-cycle query of the refresh).
_FRESHNESS = f"""
WITH w AS ({WATCHED})
SELECT t.tier, count(*) FILTER (WHERE v.unavailable_reason IS NULL),
       count(*) FILTER (WHERE v.unavailable_reason IS NULL AND s.refreshed_at IS NULL),
       count(*) FILTER (WHERE v.unavailable_reason IS NULL AND s.refreshed_at >= {_WITHIN}),
       count(*) FILTER (WHERE v.unavailable_reason IS NOT NULL)
FROM videos_video v LEFT JOIN video_refresh_schedule s ON s.video_uuid = v.uuid LEFT JOIN w ON w.video_id = v.uuid
CROSS JOIN LATERAL (SELECT {tier_case()} AS tier) t
GROUP BY t.tier"""
_CHANGES = """
SELECT changes_made->>'video_id', changes_made->'unavailable_reason'->>0, changes_made->'unavailable_reason'->>1,
       created_at
FROM channel_update_logs
WHERE update_type = 'video_availability' AND status = 'success' AND created_at > %(start)s AND created_at <= %(end)s
ORDER BY created_at, changes_made->>'video_id' LIMIT %(limit)s"""


@dataclass
class VideoTierFreshness:
    tier: str
    available: int = 0
    never_refreshed: int = 0
    within: int = 0
    unavailable: int = 0

    @property
    def within_pct(self) -> float:
        """Of the refreshed available videos, how many are within their tier's interval (requested ones
        wait for the next run by definition: 100% when none is pending)."""
        fetched = self.available - self.never_refreshed
        if self.tier == "requested":
            return 100.0 if not self.available else 0.0
        return round(100.0 * self.within / fetched, 2) if fetched else 100.0


@dataclass(frozen=True)
class AvailabilityChange:
    video_id: str
    old_reason: str | None
    new_reason: str | None  # None: back
    at: datetime


def video_freshness(engine: Engine, now: datetime, rules: VideoTierRules) -> list[VideoTierFreshness]:
    """Per tier (all five, in order): available videos, never refreshed, within the interval, unavailable."""
    params = rules.params(now) | {f"fresh_{tier}": now - rules.intervals[tier] for tier in TIERS}
    out = {tier: VideoTierFreshness(tier) for tier in TIERS}
    with transaction(engine) as conn, conn.connection.driver_connection.cursor() as cur:
        cur.execute("SET LOCAL jit = off")
        cur.execute(_FRESHNESS, params)
        for tier, available, never, within, unavailable in cur:
            out[tier] = VideoTierFreshness(tier, available, never, within, unavailable)
    return list(out.values())


def availability_changes(engine: Engine, start: datetime, end: datetime, limit: int = 200) -> list[AvailabilityChange]:
    """Videos that went unavailable or came back in (start, end], oldest first."""
    with transaction(engine) as conn, conn.connection.driver_connection.cursor() as cur:
        cur.execute(_CHANGES, {"start": start, "end": end, "limit": limit})
        return [AvailabilityChange(*row) for row in cur]
