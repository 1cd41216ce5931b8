"""Plain, immutable results of the client: what the pipeline stores and decides on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class ChannelRecord:
    channel_id: str
    title: str
    description: str
    custom_url: str | None
    thumbnail_url: str | None
    country: str | None
    published_at: datetime | None
    uploads_playlist_id: str | None
    subscriber_count: int | None
    hidden_subscriber_count: bool
    video_count: int | None
    view_count: int | None
    etag: str | None


@dataclass(frozen=True, slots=True)
class VideoRecord:
    video_id: str
    channel_id: str
    title: str
    description: str
    published_at: datetime | None
    duration_seconds: int | None
    view_count: int | None


class VideoDetails(NamedTuple):
    """A video as the metadata refresh stores it (videos.list with snippet, contentDetails, statistics, status).

    ``unavailable`` is what the answer itself says against showing the video: ``private``, ``rejected``,
    ``failed`` (processing) or ``region-blocked`` (a regionRestriction); None when it says nothing.

    A NamedTuple, not a frozen dataclass: a refresh makes one per video, and the frozen dataclass's
    ``__init__`` (an ``object.__setattr__`` per field) was ~6% of the pipeline's GIL samples (py-spy, 100k)."""

    video_id: str
    channel_id: str
    title: str
    description: str
    tags: tuple[str, ...] | None
    thumbnail_url: str | None
    published_at: datetime | None
    duration_seconds: int | None
    view_count: int | None
    like_count: int | None
    comment_count: int | None
    privacy_status: str | None
    upload_status: str | None
    embeddable: bool | None
    region_restriction: dict | None
    unavailable: str | None


@dataclass(frozen=True, slots=True)
class FeedEntry:
    video_id: str
    channel_id: str
    title: str
    published: datetime | None
    updated: datetime | None


@dataclass(frozen=True, slots=True)
class ChannelBatch:
    """Every requested id lands in exactly one of found / missing (gone) / invalid (unusable answer)."""

    found: dict[str, ChannelRecord] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    invalid: dict[str, str] = field(default_factory=dict)
    calls: int = 0


@dataclass(frozen=True, slots=True)
class VideoBatch:
    found: dict[str, VideoRecord] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    invalid: dict[str, str] = field(default_factory=dict)
    calls: int = 0


@dataclass(frozen=True, slots=True)
class VideoDetailsBatch:
    """Every requested id lands in exactly one of found / missing (deleted or private: indistinguishable
    with an API key) / invalid (unusable answer)."""

    found: dict[str, VideoDetails] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    invalid: dict[str, str] = field(default_factory=dict)
    calls: int = 0


@dataclass(frozen=True, slots=True)
class PlaylistPage:
    video_ids: list[str] = field(default_factory=list)
    published: dict[str, datetime] = field(default_factory=dict)
    next_page_token: str | None = None
    calls: int = 0


@dataclass(frozen=True, slots=True)
class FeedResult:
    """ok=False is never proof a channel is gone: the feed has outages answering 404 for everyone."""

    ok: bool
    entries: list[FeedEntry] = field(default_factory=list)
    failure: str | None = None
