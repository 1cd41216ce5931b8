"""Which videos a cycle refreshes: the schedule rows, the due selection, requests by id.

A video's shard is its own id's hash (`hashtext(video_id) & 15`), not its channel's: videos outlive their
channel (a removed channel's videos are kept with a NULL link), the id never changes, and the hash needs
no join, so every video of a shard is found from video_refresh_schedule's (shard, due_at) index alone.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from channel_assets.db.core.engine import transaction
from channel_assets.db.core.sharding import SHARD_COUNT
from channel_assets.db.videos.tiering import WATCHED, VideoTierRules, rank_case, tier_case

SHARD_SQL = f"(hashtext({{v}}.video_id) & {SHARD_COUNT - 1})"

# Videos the app (or the uploads pass) inserted since the last cycle get their schedule row: due at once.
_ENSURE = f"""
INSERT INTO video_refresh_schedule (video_uuid, shard, due_at)
SELECT v.uuid, {SHARD_SQL.format(v='v')}, '-infinity'::timestamptz FROM videos_video v
WHERE NOT EXISTS (SELECT 1 FROM video_refresh_schedule s WHERE s.video_uuid = v.uuid)
ON CONFLICT (video_uuid) DO NOTHING"""

# Due: the schedule says so (index on (shard, due_at)), or requested (index on the marker), or watched in
# the window (index on watched_at) and not refreshed for the watched tier's interval.
_DUE = f"""
WITH w AS ({WATCHED}),
due AS (
    SELECT s.video_uuid FROM video_refresh_schedule s WHERE s.shard = ANY(%(shards)s) AND s.due_at <= %(now)s
    UNION
    SELECT v.uuid FROM videos_video v
    WHERE v.metadata_refresh_requested_at IS NOT NULL AND {SHARD_SQL.format(v='v')} = ANY(%(shards)s)
    UNION
    SELECT s.video_uuid FROM w JOIN video_refresh_schedule s ON s.video_uuid = w.video_id
    WHERE s.shard = ANY(%(shards)s) AND (s.refreshed_at IS NULL OR s.refreshed_at <= %(watched_due)s)
)
SELECT v.uuid, v.video_id, t.tier FROM due
JOIN videos_video v ON v.uuid = due.video_uuid
LEFT JOIN video_refresh_schedule s ON s.video_uuid = v.uuid
LEFT JOIN w ON w.video_id = v.uuid
CROSS JOIN LATERAL (SELECT {tier_case()} AS tier) t
ORDER BY {rank_case('t.tier')}, s.refreshed_at NULLS FIRST, v.video_id"""

_BY_ID = f"""
WITH w AS ({WATCHED})
SELECT v.uuid, v.video_id, {tier_case()} AS tier FROM videos_video v LEFT JOIN w ON w.video_id = v.uuid
WHERE v.video_id = ANY(%(ids)s) ORDER BY v.video_id, v.uuid"""

_REQUEST = """
WITH r AS (
    UPDATE videos_video SET metadata_refresh_requested_at = %(now)s
    WHERE video_id = ANY(%(ids)s) AND metadata_refresh_requested_at IS NULL RETURNING uuid)
SELECT count(*) FROM r"""


@dataclass(frozen=True, slots=True)
class DueVideo:
    uuid: uuid.UUID
    video_id: str
    tier: str


def ensure_scheduled(engine: Engine) -> int:
    """Give every video without a schedule row one, due now; returns how many got one."""
    with transaction(engine) as conn, conn.connection.driver_connection.cursor() as cur:
        cur.execute(_ENSURE)
        return cur.rowcount


def select_due_videos(engine: Engine, shards: Sequence[int], now: datetime, rules: VideoTierRules) -> list[DueVideo]:
    """Due videos of the shards in spending order: requested, daily, watched, weekly, monthly; never
    refreshed first within a tier, then the longest unrefreshed."""
    ensure_scheduled(engine)
    with transaction(engine) as conn, conn.connection.driver_connection.cursor() as cur:
        cur.execute("SET LOCAL jit = off")
        cur.execute(_DUE, rules.params(now) | {"shards": list(shards)})
        return [DueVideo(*r) for r in cur]


def videos_by_id(engine: Engine, video_ids: Sequence[str], now: datetime, rules: VideoTierRules) -> list[DueVideo]:
    """The stored videos with these YouTube ids (a video id may be stored once per channel), with their tier."""
    with transaction(engine) as conn, conn.connection.driver_connection.cursor() as cur:
        cur.execute(_BY_ID, rules.params(now) | {"ids": list(video_ids)})
        return [DueVideo(*r) for r in cur]


def request_refresh(engine: Engine, video_ids: Sequence[str], now: datetime) -> int:
    """Mark the videos for a refresh on the next run (what the app may also do itself); returns how many
    rows were newly marked (an already requested video keeps its first request time)."""
    with transaction(engine) as conn, conn.connection.driver_connection.cursor() as cur:
        cur.execute(_REQUEST, {"now": now, "ids": list(video_ids)})
        return cur.fetchone()[0]


def count_by_tier(videos: Sequence[DueVideo]) -> dict[str, int]:
    counts = Counter(v.tier for v in videos)
    return {tier: counts[tier] for tier in sorted(counts)}
