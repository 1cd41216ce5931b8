"""Taking a request in: who asked, what for, and whether it is refused, answered at once or queued.

A user's mistake or a limit never raises: the request is stored 'refused' with a one-line reason (so the app
can show it) and returned. Only the caller's own bugs raise (TypeError / ValueError: wrong argument types,
an unknown requester kind). Staff and operators are trusted: their requests skip the per-user limits and
are forced (never answered from stored), up to the forced refresh's own cap on ids. A user may only ask
for channels they follow (an active users_userchannel row).

Videos follow the channels' rule: a user sees a video in the gallery through a channel they follow, so a
user may ask for a video only when one of its stored rows links to a channel they actively follow; a
video whose channel was removed (channel_id NULL) is refused for users, while staff and operators may
ask for any stored video. Video requests spend the video part of the quota (as the video refresh does),
a user's also the user requests' cap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from channel_assets.db.refresh.quota_ledger import next_reset, quota_day
from channel_assets.db.requests.reads import (
    known_channels,
    not_followed,
    quota_row,
    stored_videos,
    videos_not_followed,
)
from channel_assets.db.requests.session import Session
from channel_assets.db.requests.store import insert_request, user_counts
from channel_assets.refresh.forced import MAX_FORCED
from channel_assets.requests.limits import RequestLimits
from channel_assets.videos.requests import MAX_REQUESTED
from channel_assets.youtube import (
    InvalidChannelId,
    InvalidVideoId,
    one_line,
    validate_channel_ids,
    validate_video_ids,
)

STAFF_PREFIXES = ("staff:", "operator:")
ANSWERED = "answered_from_stored"


@dataclass(frozen=True)
class Requester:
    """Who asked: `label` as stored in requested_by; `user_id` set for a user (the per-user limits apply)."""

    label: str
    user_id: int | None


def requester(requested_by: str | int) -> Requester:
    """An int (or 'user:<id>') is a user; 'staff:<name>' and 'operator:<name>' are trusted."""
    if isinstance(requested_by, bool) or not isinstance(requested_by, int | str):
        raise TypeError(f"requested_by must be a user id (int) or 'staff:<name>' / 'operator:<name>', "
                        f"not {type(requested_by).__name__}")
    if isinstance(requested_by, int):
        return Requester(f"user:{requested_by}", requested_by)
    label = requested_by.strip()
    if label.startswith("user:") and label[5:].isdigit():
        return Requester(label, int(label[5:]))
    if not any(label.startswith(p) and len(label) > len(p) for p in STAFF_PREFIXES):
        raise ValueError(f"requested_by must be 'staff:<name>', 'operator:<name>' or a user id, got {label[:60]!r}")
    return Requester(label, None)


def _shown(ids: Sequence[str]) -> str:
    return ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")


def _asked_ids(ids, what: str = "channel") -> list:
    if isinstance(ids, str | bytes) or not isinstance(ids, Sequence | set | frozenset):
        raise TypeError(f"{what}_ids must be a list of {what} ids, not {type(ids).__name__}")
    return list(ids)


def _as_given(raw: list) -> list[str]:
    """The asked ids as given (stripped), deduplicated, order kept (stored even when refused)."""
    seen: dict[str, None] = {}
    for value in raw:
        seen.setdefault(value.strip() if isinstance(value, str) else str(value)[:64], None)
    return list(seen)


def _user_limited(s: Session, who: Requester, now: datetime, limits: RequestLimits) -> str | None:
    """A user's pending cap and hourly rate limit, over all their requests (channels and videos alike)."""
    if who.user_id is None:
        return None
    recent, pending = user_counts(s, who.user_id, now - timedelta(hours=1))
    if pending >= limits.user_max_pending:
        return f"too many requests waiting: at most {limits.user_max_pending} queued or running per user"
    if recent >= limits.user_per_hour:
        return f"rate limit: at most {limits.user_per_hour} refresh requests an hour per user; try again later"
    return None


def _refusal(s: Session, who: Requester, ids: list[str], asked: list, now: datetime,
             limits: RequestLimits) -> str | None:
    """Why this refresh request is refused, or None. Cheapest checks first."""
    if not asked:
        return "no channel ids given"
    try:
        validate_channel_ids(asked)
    except InvalidChannelId as exc:
        return str(exc)
    cap = limits.user_max_ids if who.user_id is not None else MAX_FORCED
    if len(ids) > cap:
        return f"too many channels: at most {cap} per request, got {len(ids)}"
    refused = _user_limited(s, who, now, limits)
    if refused is not None:
        return refused
    known = known_channels(s, ids)
    unknown = [cid for cid in ids if not (cid in known and known[cid]["live"])]
    if unknown:
        return f"not in videos_channel (or soft-deleted): {_shown(unknown)}"
    if who.user_id is not None:
        strangers = not_followed(s, who.user_id, ids)
        if strangers:
            return f"user {who.user_id} does not follow {_shown(strangers)}"
    return None


def _fresh(s: Session, ids: list[str], now: datetime, limits: RequestLimits) -> bool:
    """Every channel was refreshed within the last `fresh_minutes` (a user's request needs no API call)."""
    if limits.fresh_minutes <= 0:
        return False
    known = known_channels(s, ids)
    return all(known[cid]["last_updated"] is not None and known[cid]["last_updated"] >= now - limits.fresh_for
               for cid in ids)


def _user_quota_spent(s: Session, now: datetime, limits: RequestLimits, *, videos: bool = False) -> str | None:
    row = quota_row(s, quota_day(now)) or {}
    resets = f"try again after {next_reset(now).isoformat()}"
    if row.get("exhausted_at") is not None or row.get("units_reserved", 0) >= limits.pipeline_limit:
        return f"the pipeline's quota share for today is spent; {resets}"
    if row.get("user_request_units", 0) >= limits.user_quota_limit:
        return f"today's quota for user requests ({limits.user_quota_limit} units) is spent; {resets}"
    if videos and row.get("video_units", 0) >= limits.video_limit:
        return f"today's quota for video refreshes ({limits.video_limit} units) is spent; {resets}"
    return None


def take_refresh(s: Session, channel_ids, requested_by: str | int, reason: str, now: datetime,
                 limits: RequestLimits) -> dict:
    """Store a refresh request: refused (with why), done at once (answered from stored), or queued."""
    who = requester(requested_by)
    if not isinstance(reason, str):
        raise TypeError(f"reason must be a string, not {type(reason).__name__}")
    asked = _asked_ids(channel_ids)
    ids = _as_given(asked)
    row = {"kind": "refresh", "channel_ids": ids, "requested_by": who.label, "user_id": who.user_id,
           "reason": reason.strip()}
    return _store(s, row, ids, who, _refusal(s, who, ids, asked, now, limits),
                  lambda: _fresh(s, ids, now, limits), now, limits, noun="channel")


def _store(s: Session, row: dict, ids: list[str], who: Requester, refused: str | None, fresh: Callable[[], bool],
           now: datetime, limits: RequestLimits, *, noun: str, videos: bool = False) -> dict:
    """The request stored as it stands: refused (why), answered from stored (a user's, all `fresh()`), or
    queued; a user's request that passed the checks is still refused when the quota it would spend is gone."""
    if refused is None and who.user_id is not None:
        if fresh():
            return insert_request(s, **row, status="done", outcome=dict.fromkeys(ids, ANSWERED),
                                  status_reason=f"answered from stored: every {noun} was refreshed in the last "
                                                f"{limits.fresh_minutes} minutes")
        refused = _user_quota_spent(s, now, limits, videos=videos)
    if refused is not None:
        return insert_request(s, **row, status="refused", status_reason=refused)
    return insert_request(s, **row)


def _video_refusal(s: Session, who: Requester, ids: list[str], asked: list, now: datetime,
                   limits: RequestLimits) -> str | None:
    """Why this video refresh request is refused, or None. Cheapest checks first."""
    if not asked:
        return "no video ids given"
    try:
        validate_video_ids(asked)
    except InvalidVideoId as exc:
        return one_line(exc, limit=200)
    cap = limits.user_max_ids if who.user_id is not None else MAX_REQUESTED
    if len(ids) > cap:
        return f"too many videos: at most {cap} per request, got {len(ids)}"
    refused = _user_limited(s, who, now, limits)
    if refused is not None:
        return refused
    stored = stored_videos(s, ids)
    unknown = [vid for vid in ids if vid not in stored]
    if unknown:
        return f"not in videos_video: {_shown(unknown)}"
    if who.user_id is not None:
        strangers = videos_not_followed(s, who.user_id, ids)
        if strangers:
            return f"user {who.user_id} does not follow the channel of {_shown(strangers)}"
    return None


def take_video_refresh(s: Session, video_ids, requested_by: str | int, reason: str, now: datetime,
                       limits: RequestLimits) -> dict:
    """Store a video refresh request: refused (with why), done at once (answered from stored), or queued."""
    who = requester(requested_by)
    if not isinstance(reason, str):
        raise TypeError(f"reason must be a string, not {type(reason).__name__}")
    asked = _asked_ids(video_ids, "video")
    ids = _as_given(asked)
    row = {"kind": "video_refresh", "channel_ids": None, "video_ids": ids, "requested_by": who.label,
           "user_id": who.user_id, "reason": reason.strip()}
    return _store(s, row, ids, who, _video_refusal(s, who, ids, asked, now, limits),
                  lambda: limits.fresh_minutes > 0 and all(
                      at is not None and at >= now - limits.fresh_for for at in stored_videos(s, ids).values()),
                  now, limits, noun="video", videos=True)


def take_cleanup(s: Session, *, dry_run: bool, requested_by: str | int, reason: str) -> dict:
    """Store a cleanup (or dry-run) request. Users may not ask for one: refused with the reason."""
    if not isinstance(dry_run, bool):
        raise TypeError(f"dry_run must be a bool, not {type(dry_run).__name__}")
    if not isinstance(reason, str):
        raise TypeError(f"reason must be a string, not {type(reason).__name__}")
    who = requester(requested_by)
    row = {"kind": "cleanup_dry_run" if dry_run else "cleanup", "channel_ids": None, "requested_by": who.label,
           "user_id": who.user_id, "reason": reason.strip()}
    if who.user_id is not None:
        return insert_request(s, **row, status="refused", status_reason="only staff and operators may request a cleanup")
    return insert_request(s, **row)
