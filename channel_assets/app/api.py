"""The gallery app's Python API: status, history and requests to the pipeline, free of Dagster.

Every function takes `db` first: a SQLAlchemy URL, Engine or Connection, or a psycopg 3 connection such as
Django's `connection.connection`, so the app calls it with its own connection (a request inserted inside
the app's transaction commits with it). Dates are ISO 8601 strings. A user's mistake or a limit never
raises: the request comes back (and is stored) 'refused' with a one-line `status_reason`. The caller's own
bugs (wrong argument types) raise TypeError or ValueError.

The limits come from the calling process's environment (CHANNEL_ASSETS_REQUESTS_*, YOUTUBE_QUOTA_*),
each with a default; see the README's configuration table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from channel_assets.db.requests.session import session
from channel_assets.db.requests.store import get_request
from channel_assets.requests import intake, status
from channel_assets.requests.limits import RequestLimits
from channel_assets.requests.schedules import ScheduleState
from channel_assets.youtube import is_valid_channel_id

REQUEST_FIELDS = ("id", "kind", "status", "status_reason", "channel_ids", "video_ids", "requested_by", "user_id", "reason",
                  "run_id", "outcome", "created_at", "started_at", "finished_at")
HISTORY_MAX = 1_000

__all__ = ["ScheduleState", "channel_history", "request_cleanup", "request_refresh", "request_status",
           "request_video_refresh", "update_status"]


def _now() -> datetime:
    return datetime.now(UTC)


def _request_dict(row: dict[str, Any]) -> dict[str, Any]:
    out = {name: row[name] for name in REQUEST_FIELDS}
    for name in ("created_at", "started_at", "finished_at"):
        out[name] = status.iso(out[name])
    out["id"] = int(out["id"])
    for name in ("channel_ids", "video_ids"):
        out[name] = list(out[name]) if out[name] is not None else None
    return out


def update_status(db, *, schedules: Callable[[], Sequence[ScheduleState]] | None = None) -> dict:
    """Seed 000's ChannelUpdateStatus, plus `next_scheduled_update_reason` (why that field is null).

    `schedules`: a callable returning the Dagster schedules' states, e.g.
    `channel_assets.defs.requests.schedule_states.instance_schedule_states` (needs DAGSTER_HOME); None
    leaves next_scheduled_update null with the reason."""
    with session(db) as s:
        return status.update_status(s, _now(), RequestLimits.from_environment(), schedules)


def request_refresh(db, channel_ids: Sequence[str], requested_by: str | int, reason: str = "") -> dict:
    """Ask for these channels to be refreshed. `requested_by`: 'staff:<name>' / 'operator:<name>', or a
    user's id (int: the per-user rate limit, flood caps and quota guard apply, and a channel refreshed in the
    last few minutes is answered from what is stored). Returns the request (queued, done or refused)."""
    with session(db) as s:
        return _request_dict(intake.take_refresh(s, channel_ids, requested_by, reason, _now(),
                                                 RequestLimits.from_environment()))


def request_video_refresh(db, video_ids: Sequence[str], requested_by: str | int, reason: str = "") -> dict:
    """Ask for these videos (YouTube ids, already in videos_video) to be refreshed. `requested_by` as for
    request_refresh: a user may ask only for videos of channels they follow, under the same rate limit
    and caps; staff and operators for any stored video. Returns the request (queued, done or refused);
    once served, `outcome` maps each video id to refreshed, unchanged, unavailable: <reason>, deferred,
    answered_from_stored or failed: not in videos_video."""
    with session(db) as s:
        return _request_dict(intake.take_video_refresh(s, video_ids, requested_by, reason, _now(),
                                                       RequestLimits.from_environment()))


def request_cleanup(db, *, dry_run: bool = False, requested_by: str | int, reason: str = "") -> dict:
    """Ask for a cleanup run (dry_run: report what it would remove, change nothing). Staff and operators only."""
    with session(db) as s:
        return _request_dict(intake.take_cleanup(s, dry_run=dry_run, requested_by=requested_by, reason=reason))


def request_status(db, request_id: int) -> dict | None:
    """Where a request stands; None when there is no such request."""
    if isinstance(request_id, bool) or not isinstance(request_id, int):
        raise TypeError(f"request_id must be an int, not {type(request_id).__name__}")
    with session(db) as s:
        row = get_request(s, request_id)
    return _request_dict(row) if row is not None else None


def channel_history(db, channel_id: str, limit: int = 50) -> list[dict]:
    """The channel's update-log rows in seed 000's ChannelUpdateLog shape, newest first ([] for an id the
    pipeline never touched, malformed ones included)."""
    if not isinstance(channel_id, str):
        raise TypeError(f"channel_id must be a string, not {type(channel_id).__name__}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= HISTORY_MAX:
        raise ValueError(f"limit must be an int from 1 to {HISTORY_MAX}")
    if not is_valid_channel_id(channel_id.strip()):
        return []
    with session(db) as s:
        return status.channel_history(s, channel_id.strip(), limit)
