"""Seed 000's ChannelUpdateStatus and ChannelUpdateLog shapes, for the app.

quota_usage is today's (Pacific day) row of the quota ledger against the pipeline's share, the same
numbers `channel-assets quota` prints: `used` counts what the pipeline's runs spent or hold (user requests
included), `limit` is YOUTUBE_QUOTA_DAILY_LIMIT x YOUTUBE_QUOTA_PIPELINE_SHARE.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from channel_assets.db.refresh.quota_ledger import quota_day
from channel_assets.db.requests.reads import channel_totals, quota_row, update_log
from channel_assets.db.requests.session import Session
from channel_assets.requests.limits import RequestLimits
from channel_assets.requests.schedules import ScheduleState, next_scheduled_update


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def update_status(s: Session, now: datetime, limits: RequestLimits,
                  schedules: Callable[[], Sequence[ScheduleState]] | None) -> dict:
    """channels_updated_today counts from 00:00 UTC of `now` (as the freshness report does)."""
    totals = channel_totals(s, now.replace(hour=0, minute=0, second=0, microsecond=0))
    row = quota_row(s, quota_day(now)) or {}
    limit = limits.pipeline_limit
    used = int(row.get("units_used", 0))
    remaining = 0 if row.get("exhausted_at") is not None else max(limit - int(row.get("units_reserved", 0)), 0)
    when, _, why = next_scheduled_update(schedules, now)
    return {
        "total_channels": int(totals["total_channels"]),
        "last_update_run": iso(totals["last_update_run"]),
        "channels_updated_today": int(totals["channels_updated_today"]),
        "failed_updates": int(totals["failed_updates"]),
        "quota_usage": {"used": used, "limit": limit, "remaining": remaining},
        "next_scheduled_update": iso(when),
        "next_scheduled_update_reason": why,
    }


def channel_history(s: Session, channel_id: str, limit: int) -> list[dict]:
    return [{"id": str(r["id"]), "update_type": r["update_type"], "status": r["status"], "error_message": r["error_message"],
             "changes_made": r["changes_made"], "api_quota_used": int(r["api_quota_used"] or 0),
             "created_at": iso(r["created_at"])} for r in update_log(s, channel_id, limit)]
