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


def _time(element: ET.Element, path: str):
    text = element.findtext(path, namespaces=NS)
    try:
        return parse_rfc3339(text.strip()) if text else None
    except ItemError:
        return None


def parse_feed(body: bytes | str, expected_channel_id: str | None = None) -> FeedResult:
    """Parse a channel feed; entries without a valid video id are skipped."""
    raw = body.encode("utf-8") if isinstance(body, str) else body or b""
    if not raw.strip():
        return FeedResult(ok=False, failure="empty")
    upper = raw.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:  # no DTDs: no entity expansion attacks
        return FeedResult(ok=False, failure="not xml (DTD refused)")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError:
        return FeedResult(ok=False, failure="not xml")
    if root.tag != _FEED_TAG:
        return FeedResult(ok=False, failure="not a feed")
    feed_channel = normalize_channel_id(root.findtext("yt:channelId", namespaces=NS))
    if expected_channel_id and feed_channel and feed_channel != expected_channel_id:
        return FeedResult(ok=False, failure="channel mismatch")
    default_channel = feed_channel or expected_channel_id
    entries: list[FeedEntry] = []
    for entry in root.findall("atom:entry", NS):
        video_id = (entry.findtext("yt:videoId", namespaces=NS) or "").strip()
        channel_id = normalize_channel_id(entry.findtext("yt:channelId", namespaces=NS)) or default_channel
        if not is_valid_video_id(video_id) or not channel_id:
            continue
        entries.append(FeedEntry(
            video_id=video_id,
            channel_id=channel_id,
            title=clean_text(entry.findtext("atom:title", default="", namespaces=NS)),
            published=_time(entry, "atom:published"),
            updated=_time(entry, "atom:updated"),
        ))
    return FeedResult(ok=True, entries=entries)
