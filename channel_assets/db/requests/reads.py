"""What the app's status, history and the request checks read from the pipeline's tables (plain SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from channel_assets.db.requests.session import Session


def known_channels(s: Session, channel_ids: Sequence[str]) -> dict[str, dict]:
    """channel_id -> {"last_updated", "live"} for the ids in videos_channel (the unique index)."""
    rows = s.rows("""SELECT channel_id, last_updated, soft_deleted_at IS NULL AS live
                     FROM videos_channel WHERE channel_id = ANY(%(ids)s)""", {"ids": list(channel_ids)})
    return {r["channel_id"]: r for r in rows}


def not_followed(s: Session, user_id: int, channel_ids: Sequence[str]) -> list[str]:
    """The ids the user has no active subscription to (users_userchannel's (user_id, channel_id) unique index)."""
    rows = s.rows("""SELECT c.channel_id FROM videos_channel c
                     JOIN users_userchannel uc ON uc.channel_id = c.uuid
                     WHERE uc.user_id = %(user_id)s AND uc.is_active AND c.channel_id = ANY(%(ids)s)""",
                  {"user_id": user_id, "ids": list(channel_ids)})
    followed = {r["channel_id"] for r in rows}
    return [cid for cid in channel_ids if cid not in followed]


def channel_totals(s: Session, midnight: datetime) -> dict:
    """Live channels, those refreshed since `midnight`, those whose last refresh failed, the latest refresh."""
    return s.one("""
        SELECT count(*) AS total_channels,
               count(*) FILTER (WHERE last_updated >= %(midnight)s) AS channels_updated_today,
               count(*) FILTER (WHERE failed_update_count > 0) AS failed_updates,
               max(last_updated) AS last_update_run
        FROM videos_channel WHERE soft_deleted_at IS NULL""", {"midnight": midnight})


def quota_row(s: Session, day: date) -> dict | None:
    """The quota ledger's row of a Pacific day (None before its first call)."""
    return s.one("""SELECT units_reserved, units_used, user_request_units, video_units, exhausted_at
                    FROM api_quota_ledger WHERE quota_day = %(day)s""", {"day": day})


def update_log(s: Session, channel_id: str, limit: int) -> list[dict]:
    """A channel's channel_update_logs rows, newest first (channel_update_logs_channel_created_idx)."""
    return s.rows("""SELECT id, update_type, status, error_message, changes_made, api_quota_used, created_at
                     FROM channel_update_logs WHERE channel_id = %(cid)s
                     ORDER BY created_at DESC, id DESC LIMIT %(limit)s""", {"cid": channel_id, "limit": limit})


def run_outcomes(s: Session, run_id: str, channel_ids: Sequence[str], since: datetime) -> dict[str, dict]:
    """What a run's metadata refresh wrote per channel: its log row (status, changes, error) and the channel's
    state (available, written by the pipeline at `since`) for those without one (still gone, deferred)."""
    rows = s.rows("""
        SELECT c.channel_id, c.is_available, c.soft_deleted_at IS NULL AS live,
               c.pipeline_written_at = %(since)s AS written,
               l.status, l.changes_made, l.error_message
        FROM videos_channel c
        LEFT JOIN LATERAL (
            SELECT status, changes_made, error_message FROM channel_update_logs
            WHERE channel_id = c.channel_id AND created_at >= %(since)s AND run_id = %(run_id)s
              AND update_type = 'metadata'
            ORDER BY created_at DESC, id DESC LIMIT 1) l ON true
        WHERE c.channel_id = ANY(%(ids)s)""", {"ids": list(channel_ids), "run_id": run_id, "since": since})
    return {r["channel_id"]: r for r in rows}


def stored_videos(s: Session, video_ids: Sequence[str]) -> dict[str, datetime | None]:
    """video_id -> when every stored row of it was last refreshed (None while one never was), for the ids
    in videos_video (video_video_channel_idx; a video id may be stored once per channel)."""
    rows = s.rows("""SELECT v.video_id,
                            CASE WHEN bool_and(r.refreshed_at IS NOT NULL) THEN min(r.refreshed_at) END AS refreshed_at
                     FROM videos_video v LEFT JOIN video_refresh_schedule r ON r.video_uuid = v.uuid
                     WHERE v.video_id = ANY(%(ids)s) GROUP BY v.video_id""", {"ids": list(video_ids)})
    return {r["video_id"]: r["refreshed_at"] for r in rows}


def videos_not_followed(s: Session, user_id: int, video_ids: Sequence[str]) -> list[str]:
    """The ids none of whose rows links to a channel the user actively follows (a video whose channel was
    removed has no link: never followed)."""
    rows = s.rows("""SELECT DISTINCT v.video_id FROM videos_video v
                     JOIN users_userchannel uc ON uc.channel_id = v.channel_id
                     WHERE uc.user_id = %(user_id)s AND uc.is_active AND v.video_id = ANY(%(ids)s)""",
                  {"user_id": user_id, "ids": list(video_ids)})
    followed = {r["video_id"] for r in rows}
    return [vid for vid in video_ids if vid not in followed]


def video_run_outcomes(s: Session, video_ids: Sequence[str], now: datetime) -> dict[str, dict]:
    """What a video refresh stamped `now` did per video id, over its stored rows: answered (its schedule
    row stamped: found, or confirmed gone), written (new values stored), and its unavailable reason."""
    return {r["video_id"]: r for r in s.rows("""
        SELECT v.video_id, bool_or(r.refreshed_at = %(now)s) AS answered,
               bool_or(v.metadata_refreshed_at = %(now)s) AS written, max(v.unavailable_reason) AS unavailable
        FROM videos_video v LEFT JOIN video_refresh_schedule r ON r.video_uuid = v.uuid
        WHERE v.video_id = ANY(%(ids)s) GROUP BY v.video_id""", {"ids": list(video_ids), "now": now})}
