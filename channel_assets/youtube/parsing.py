"""Turn API JSON into records: strict about what gets stored, tolerant of everything ignored.

A bad item is reported in ``invalid`` (counted, not applied) instead of failing the batch, and a
requested id is reported ``missing`` only when the answer was clean enough to prove it absent.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from .errors import TransientError
from .ids import is_valid_video_id
from .records import (
    ChannelBatch,
    ChannelRecord,
    PlaylistPage,
    VideoBatch,
    VideoDetails,
    VideoDetailsBatch,
    VideoRecord,
)

CHANNEL_PARTS = ("snippet", "statistics", "contentDetails")
VIDEO_PARTS = ("snippet", "contentDetails", "statistics")
VIDEO_DETAIL_PARTS = ("statistics", "snippet", "contentDetails", "status")
MAX_TAGS = 500
_BIGINT_MAX = 2**63 - 1  # PostgreSQL bigint
_RFC3339_RE = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
_DURATION_RE = re.compile(
    r"P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?=\d)(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?"
)


class ItemError(ValueError):
    """One item cannot be stored; the message is the reason reported in ``invalid``."""


def items_of(payload: Any) -> list[Any]:
    """The ``items`` list of a 200 answer; a non-object or non-list means a broken answer (retried)."""
    if not isinstance(payload, dict):
        raise TransientError("malformed response: JSON is not an object", reason="malformedResponse")
    items = payload.get("items", [])
    if not isinstance(items, list):
        raise TransientError("malformed response: 'items' is not a list", reason="malformedResponse")
    return items


def clean_text(value: str) -> str:
    """PostgreSQL text columns reject NUL characters."""
    return value.replace("\x00", "") if "\x00" in value else value


def parse_rfc3339(value: Any) -> datetime:
    """RFC 3339 timestamp (``Z`` or offset, any fraction) → aware UTC datetime."""
    if not isinstance(value, str) or not _RFC3339_RE.fullmatch(value):
        raise ItemError(f"bad timestamp {value!r:.40}")
    try:
        return datetime.fromisoformat(value.replace("z", "Z")).astimezone(UTC)
    except ValueError:
        raise ItemError(f"bad timestamp {value!r:.40}") from None


def parse_duration(value: Any) -> int:
    """ISO 8601 duration as YouTube writes it (PT1H2M3S, P1DT2H, P0D) → whole seconds."""
    if not isinstance(value, str):
        raise ItemError(f"bad duration {value!r:.40}")
    return _duration_seconds(value)


@lru_cache(maxsize=65_536)
def _duration_seconds(value: str) -> int:
    """Cached: durations repeat (a million videos have a few thousand distinct ones), and the regex and the
    conversions were 6% of a 1M-video refresh's CPU. Errors are raised, never cached."""
    m = _DURATION_RE.fullmatch(value)
    if m is None or value in ("P", "PT"):
        raise ItemError(f"bad duration {value!r:.40}")
    g = {k: v or "0" for k, v in m.groupdict().items()}
    seconds = int(int(g["w"]) * 604800 + int(g["d"]) * 86400 + int(g["h"]) * 3600 + int(g["m"]) * 60 + float(g["s"]))
    if seconds > _INT_MAX:
        raise ItemError(f"duration out of range: {value!r:.40}")
    return seconds


def _count(obj: dict, key: str) -> int | None:
    """Counts arrive as decimal strings; absent → None, anything else unusable → invalid item."""
    if key not in obj or obj[key] is None:
        return None
    value = obj[key]
    if type(value) is str and value.isdigit() and value.isascii() and len(value) < 19:
        return int(value)  # the usual answer: a short decimal string, always within bigint
    if isinstance(value, bool):
        raise ItemError(f"{key} is not a count")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    else:
        raise ItemError(f"{key} is not a non-negative integer: {value!r:.40}")
    if not 0 <= number <= _BIGINT_MAX:
        raise ItemError(f"{key} out of range: {number}")
    return number


def _obj(parent: dict, key: str, *, required: bool) -> dict:
    value = parent.get(key)
    if isinstance(value, dict):
        return value
    if value is None and not required:
        return {}
    raise ItemError(f"missing {key}" if value is None else f"{key} is not an object")


# The widest value the gallery's columns hold (seed 000's schema): anything longer is invalid data,
# reported per item, never a failed write transaction for the whole batch.
MAX_TITLE, MAX_URL, MAX_CUSTOM_URL, MAX_COUNTRY, MAX_ID, MAX_ETAG = 500, 500, 200, 8, 64, 100
_INT_MAX = 2**31 - 1


def _text(obj: dict, key: str, *, required: bool = False, max_len: int | None = None) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise ItemError(f"missing {key}")
        return None
    if not isinstance(value, str):
        raise ItemError(f"{key} is not a string")
    value = clean_text(value)
    if max_len is not None and len(value) > max_len:
        raise ItemError(f"{key} longer than {max_len} characters")
    return value


def _thumbnail(snippet: dict) -> str | None:
    thumbs = snippet.get("thumbnails")
    if not isinstance(thumbs, dict):
        return None
    for size in ("high", "medium", "default"):
        entry = thumbs.get(size)
        if isinstance(entry, dict) and isinstance(entry.get("url"), str) and entry["url"]:
            return _text(entry, "url", max_len=MAX_URL)
    return None


def _published(obj: dict, key: str) -> datetime | None:
    return None if obj.get(key) is None else parse_rfc3339(obj[key])


def parse_channel_item(item: dict, parts: Collection[str] = CHANNEL_PARTS) -> ChannelRecord:
    snippet = _obj(item, "snippet", required="snippet" in parts)
    stats = _obj(item, "statistics", required="statistics" in parts)
    details = _obj(item, "contentDetails", required="contentDetails" in parts)
    hidden = stats.get("hiddenSubscriberCount", False)
    if not isinstance(hidden, bool):
        raise ItemError("hiddenSubscriberCount is not a boolean")
    playlists = _obj(details, "relatedPlaylists", required=False)
    etag = item.get("etag")
    return ChannelRecord(
        channel_id=item["id"],
        title=_text(snippet, "title", required=True, max_len=MAX_TITLE),
        description=_text(snippet, "description") or "",
        custom_url=_text(snippet, "customUrl", max_len=MAX_CUSTOM_URL),
        thumbnail_url=_thumbnail(snippet),
        country=_text(snippet, "country", max_len=MAX_COUNTRY),
        published_at=_published(snippet, "publishedAt"),
        uploads_playlist_id=_text(playlists, "uploads", max_len=MAX_ID) or None,
        subscriber_count=_count(stats, "subscriberCount"),
        hidden_subscriber_count=hidden,
        video_count=_count(stats, "videoCount"),
        view_count=_count(stats, "viewCount"),
        etag=_text(item, "etag", max_len=MAX_ETAG) if isinstance(etag, str) else None,
    )


def parse_video_item(item: dict, parts: Collection[str] = VIDEO_PARTS) -> VideoRecord:
    snippet = _obj(item, "snippet", required="snippet" in parts)
    details = _obj(item, "contentDetails", required="contentDetails" in parts)
    stats = _obj(item, "statistics", required="statistics" in parts)
    duration = details.get("duration")
    return VideoRecord(
        video_id=item["id"],
        channel_id=_text(snippet, "channelId", required=True, max_len=MAX_ID),
        title=_text(snippet, "title", required=True, max_len=MAX_TITLE),
        description=_text(snippet, "description") or "",
        published_at=_published(snippet, "publishedAt"),
        duration_seconds=None if duration is None else parse_duration(duration),
        view_count=_count(stats, "viewCount"),
    )


def _tags(snippet: dict) -> tuple[str, ...] | None:
    tags = snippet.get("tags")
    if tags is None:
        return None
    try:  # one C-level pass checks every tag is a string (and finds a NUL) instead of two generators
        if not isinstance(tags, list) or len(tags) > MAX_TAGS:
            raise TypeError
        joined = "".join(tags)
    except TypeError:
        raise ItemError("tags is not a list of strings") from None
    return tuple(clean_text(t) for t in tags) if "\x00" in joined else tuple(tags)


def _flag(obj: dict, key: str) -> bool | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, bool):
        raise ItemError(f"{key} is not a boolean")
    return value


def _region(details: dict) -> dict | None:
    restriction = details.get("regionRestriction")
    if restriction is None:
        return None
    if not isinstance(restriction, dict) or not all(
            k in ("allowed", "blocked") and isinstance(v, list) and all(isinstance(c, str) for c in v)
            for k, v in restriction.items()):
        raise ItemError("regionRestriction is not a map of country lists")
    return restriction or None


def unavailable_reason(privacy: str | None, upload: str | None, region: dict | None) -> str | None:
    """What an answered item says against showing the video (None: nothing)."""
    if privacy == "private":
        return "private"
    if upload in ("rejected", "failed"):
        return upload
    if region and (region.get("blocked") or "allowed" in region):
        return "region-blocked"
    return None


def parse_video_details(item: dict, parts: Collection[str] = VIDEO_DETAIL_PARTS) -> VideoDetails:
    snippet = _obj(item, "snippet", required="snippet" in parts)
    details = _obj(item, "contentDetails", required="contentDetails" in parts)
    stats = _obj(item, "statistics", required="statistics" in parts)
    status = _obj(item, "status", required="status" in parts)
    duration = details.get("duration")
    region = _region(details)
    privacy, upload = _text(status, "privacyStatus", max_len=20), _text(status, "uploadStatus", max_len=20)
    return VideoDetails(
        video_id=item["id"],
        channel_id=_text(snippet, "channelId", required=True, max_len=MAX_ID),
        title=_text(snippet, "title", required=True, max_len=MAX_TITLE),
        description=_text(snippet, "description") or "",
        tags=_tags(snippet),
        thumbnail_url=_thumbnail(snippet),
        published_at=_published(snippet, "publishedAt"),
        duration_seconds=None if duration is None else parse_duration(duration),
        view_count=_count(stats, "viewCount"),
        like_count=_count(stats, "likeCount"),
        comment_count=_count(stats, "commentCount"),
        privacy_status=privacy,
        upload_status=upload,
        embeddable=_flag(status, "embeddable"),
        region_restriction=region,
        unavailable=unavailable_reason(privacy, upload, region),
    )


def _sort_items(payload: Any, requested: Sequence[str], parse) -> tuple[dict, list[str], dict[str, str]]:
    """Shared found/missing/invalid bookkeeping for id-filtered list calls."""
    wanted = set(requested)
    found: dict[str, Any] = {}
    invalid: dict[str, str] = {}
    unattributed = 0
    for item in items_of(payload):
        item_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(item_id, str):
            unattributed += 1
            continue
        if item_id not in wanted or item_id in found or item_id in invalid:
            continue  # not asked for, or a duplicate: ignored
        try:
            found[item_id] = parse(item)
        except ItemError as exc:
            invalid[item_id] = str(exc)
        except (TypeError, AttributeError, KeyError) as exc:  # a shape nobody anticipated
            invalid[item_id] = f"unexpected item shape ({type(exc).__name__})"
    absent = [i for i in requested if i not in found and i not in invalid]
    truncated = isinstance(payload, dict) and payload.get("nextPageToken")
    if unattributed or truncated:
        # Cannot prove absence: an id-less item or a further page may be the one we asked for.
        why = f"{unattributed} item(s) without an id" if unattributed else "response has a further page"
        invalid.update({i: f"not returned, but {why}" for i in absent})
        absent = []
    return found, absent, invalid


def parse_channel_list(payload: Any, requested: Sequence[str], parts: Collection[str] = CHANNEL_PARTS,
                       calls: int = 0) -> ChannelBatch:
    found, missing, invalid = _sort_items(payload, requested, lambda it: parse_channel_item(it, parts))
    return ChannelBatch(found=found, missing=missing, invalid=invalid, calls=calls)


def parse_video_list(payload: Any, requested: Sequence[str], parts: Collection[str] = VIDEO_PARTS,
                     calls: int = 0) -> VideoBatch:
    found, missing, invalid = _sort_items(payload, requested, lambda it: parse_video_item(it, parts))
    return VideoBatch(found=found, missing=missing, invalid=invalid, calls=calls)


def parse_video_details_list(payload: Any, requested: Sequence[str], parts: Collection[str] = VIDEO_DETAIL_PARTS,
                             calls: int = 0) -> VideoDetailsBatch:
    found, missing, invalid = _sort_items(payload, requested, lambda it: parse_video_details(it, parts))
    return VideoDetailsBatch(found=found, missing=missing, invalid=invalid, calls=calls)


def parse_playlist_page(payload: Any, calls: int = 0) -> PlaylistPage:
    """Video ids of one playlistItems page, in order; items without a usable video id are skipped."""
    video_ids: list[str] = []
    published: dict[str, datetime] = {}
    for item in items_of(payload):
        if not isinstance(item, dict):
            continue
        snippet = item.get("snippet") if isinstance(item.get("snippet"), dict) else {}
        details = item.get("contentDetails") if isinstance(item.get("contentDetails"), dict) else {}
        resource = snippet.get("resourceId") if isinstance(snippet.get("resourceId"), dict) else {}
        video_id = details.get("videoId") or resource.get("videoId")
        if not is_valid_video_id(video_id) or video_id in video_ids:
            continue
        video_ids.append(video_id)
        for source, key in ((details, "videoPublishedAt"), (snippet, "publishedAt")):
            try:
                published[video_id] = parse_rfc3339(source[key])
                break
            except (KeyError, ItemError):
                continue
    token = payload.get("nextPageToken")
    return PlaylistPage(video_ids=video_ids, published=published,
                        next_page_token=token if isinstance(token, str) and token else None, calls=calls)
