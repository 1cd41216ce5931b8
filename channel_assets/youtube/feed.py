"""The public channel feed (Atom, latest 15 uploads, 0 quota): parsed defensively, never trusted.

Any problem yields ``FeedResult(ok=False, failure=...)``; callers fall back to the API. A failed
feed is never proof a channel is gone (it has had global 404/500 outages).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .ids import is_valid_channel_id, is_valid_video_id
from .parsing import ItemError, clean_text, parse_rfc3339
from .records import FeedEntry, FeedResult

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "yt": "http://www.youtube.com/xml/schemas/2015",
    "media": "http://search.yahoo.com/mrss/",
}
_FEED_TAG = "{http://www.w3.org/2005/Atom}feed"


def normalize_channel_id(value: str | None) -> str | None:
    """Feed-level ids have been seen without the ``UC`` prefix (2026): put it back."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if len(value) == 22 and not value.startswith("UC"):
        value = "UC" + value
    return value if is_valid_channel_id(value) else None


_ATOM, _YT = f"{{{NS['atom']}}}", f"{{{NS['yt']}}}"
_ENTRY, _VIDEO_ID, _CHANNEL_ID = _ATOM + "entry", _YT + "videoId", _YT + "channelId"
_TITLE, _PUBLISHED, _UPDATED = _ATOM + "title", _ATOM + "published", _ATOM + "updated"


def _time(text: str | None):
    try:
        return parse_rfc3339(text.strip()) if text else None
    except ItemError:
        return None


def _entries(root: ET.Element, default_channel: str | None) -> list[FeedEntry]:
    """One pass over each entry's children (ElementPath's findtext per field cost more than the XML parse);
    the entries' ``yt:channelId`` (the same text in every entry) is normalised once per distinct text."""
    out: list[FeedEntry] = []
    channels: dict[str | None, str | None] = {}
    for entry in root:
        if entry.tag != _ENTRY:
            continue
        fields = {child.tag: child.text for child in reversed(entry)}  # the first of a repeated tag wins
        video_id = (fields.get(_VIDEO_ID) or "").strip()
        raw_channel = fields.get(_CHANNEL_ID)
        if raw_channel in channels:
            channel_id = channels[raw_channel]
        else:
            channel_id = channels[raw_channel] = normalize_channel_id(raw_channel) or default_channel
        if not is_valid_video_id(video_id) or not channel_id:
            continue
        out.append(FeedEntry(video_id, channel_id, clean_text(fields.get(_TITLE) or ""),
                             _time(fields.get(_PUBLISHED)), _time(fields.get(_UPDATED))))
    return out


def parse_feed(body: bytes | str, expected_channel_id: str | None = None) -> FeedResult:
    """Parse a channel feed; entries without a valid video id are skipped."""
    raw = body.encode("utf-8") if isinstance(body, str) else body or b""
    if not raw.strip():
        return FeedResult(ok=False, failure="empty")
    if b"<!" in raw:  # (a copy of the whole body in upper case only when a declaration may be there)
        upper = raw.upper()
        if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:  # no DTDs: no entity expansion attacks
            return FeedResult(ok=False, failure="not xml (DTD refused)")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError:
        return FeedResult(ok=False, failure="not xml")
    if root.tag != _FEED_TAG:
        return FeedResult(ok=False, failure="not a feed")
    feed_channel = normalize_channel_id(root.findtext(_CHANNEL_ID))
    if expected_channel_id and feed_channel and feed_channel != expected_channel_id:
        return FeedResult(ok=False, failure="channel mismatch")
    default_channel = feed_channel or expected_channel_id
    return FeedResult(ok=True, entries=_entries(root, default_channel))
