"""Id validation: channel ids reach URLs and SQL, so only well-formed ones get through."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .redaction import redact

CHANNEL_ID_RE = re.compile(r"^UC[A-Za-z0-9_-]{22}$")
VIDEO_ID_RE = re.compile(r"^[A-Za-z0-9_-]{11}$")
PLAYLIST_ID_RE = re.compile(r"^[A-Za-z0-9_-]{2,64}$")


class InvalidChannelId(ValueError):
    """A channel id that is not ``UC`` + 22 of ``[A-Za-z0-9_-]``."""


class InvalidVideoId(ValueError):
    """A video id that is not 11 of ``[A-Za-z0-9_-]``."""


def _show(value: object) -> str:
    text = redact(repr(value))  # repr keeps it on one line (newlines escaped); ids may be anything
    return text if len(text) <= 60 else text[:57] + "..."


def is_valid_channel_id(s: object) -> bool:
    return isinstance(s, str) and CHANNEL_ID_RE.fullmatch(s) is not None


def is_valid_video_id(s: object) -> bool:
    return isinstance(s, str) and VIDEO_ID_RE.fullmatch(s) is not None


def is_valid_playlist_id(s: object) -> bool:
    return isinstance(s, str) and PLAYLIST_ID_RE.fullmatch(s) is not None


def _validate(ids: Iterable[str], check, exc_type, noun: str, expected: str) -> list[str]:
    if isinstance(ids, str | bytes):
        raise exc_type(f"expected a collection of {noun}s, got a single {type(ids).__name__} {_show(ids)}")
    seen: dict[str, None] = {}
    for raw in ids:
        value = raw.strip() if isinstance(raw, str) else raw
        if not check(value):
            raise exc_type(f"invalid {noun} {_show(raw)}: expected {expected}")
        seen.setdefault(value, None)
    return list(seen)


def validate_channel_ids(ids: Iterable[str]) -> list[str]:
    """Strip, de-duplicate (order kept) and validate; raise on the first bad id."""
    return _validate(ids, is_valid_channel_id, InvalidChannelId, "YouTube channel id", "'UC' followed by 22 of [A-Za-z0-9_-]")


def validate_video_ids(ids: Iterable[str]) -> list[str]:
    """Strip, de-duplicate (order kept) and validate; raise on the first bad id."""
    return _validate(ids, is_valid_video_id, InvalidVideoId, "YouTube video id", "11 of [A-Za-z0-9_-]")
