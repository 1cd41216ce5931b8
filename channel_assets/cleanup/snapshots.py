"""Watch-history preservation (F9): the channel snapshot is built in SQL and written per batch.

One UPDATE ... FROM per batch for the videos and one for their watch rows, instead of the seed's
save() per video and per watch row. The JSON is built by the database (jsonb_build_object on
PostgreSQL, json_object on SQLite) with the same keys and ISO-8601 UTC timestamps on both.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection

from channel_assets.cleanup.batches import in_strings, in_uuids
from channel_assets.db.models import Channel, UserVideo, Video

CLEANUP_REASON = "orphaned_channel_removal"


@dataclass(frozen=True)
class SnapshotCounts:
    videos: int
    watch_rows: int


def _uuid_text(conn: Connection, column):
    if conn.dialect.name == "postgresql":
        return sa.cast(column, sa.Text)
    # SQLite stores Uuid as 32 hex digits: re-insert the hyphens so both backends write the same text.
    hexed = sa.func.lower(sa.type_coerce(column, sa.String))
    parts = [sa.func.substr(hexed, start, length) for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))]
    text = parts[0]
    for part in parts[1:]:
        text = text.concat("-").concat(part)
    return text


def _iso_utc(conn: Connection, column):
    if conn.dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
    # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC.
    return sa.func.replace(sa.type_coerce(column, sa.String), " ", "T").concat("+00:00")


def snapshot_expression(conn: Connection, now: datetime, reason: str):
    """The snapshot document of the joined Channel row, as a SQL expression."""
    build = sa.func.jsonb_build_object if conn.dialect.name == "postgresql" else sa.func.json_object
    text = sa.String
    return build(
        sa.literal("channel_uuid", text), _uuid_text(conn, Channel.uuid),
        sa.literal("channel_id", text), Channel.channel_id,
        sa.literal("title", text), Channel.title,
        sa.literal("description", text), Channel.description,
        sa.literal("url", text), Channel.url,
        sa.literal("subscriber_count", text), Channel.subscriber_count,
        sa.literal("video_count", text), Channel.video_count,
        sa.literal("view_count", text), Channel.view_count,
        sa.literal("last_updated", text), _iso_utc(conn, Channel.last_updated),
        sa.literal("snapshot_created_at", text), sa.literal(now.isoformat(), text),
        sa.literal("cleanup_reason", text), sa.literal(reason, text),
    )


def snapshot_channels(conn: Connection, ids: Sequence[uuid.UUID], now: datetime, *, only_missing: bool = False,
                      reason: str = CLEANUP_REASON) -> SnapshotCounts:
    """Write the snapshot into every video of `ids` and the same context into every watch row of them.

    only_missing: leave videos and watch rows that already carry a snapshot alone (the hard delete
    re-runs this inside its transaction to cover videos added since the snapshot step).
    """
    if not ids:
        return SnapshotCounts(0, 0)
    videos = (
        sa.update(Video)
        .where(Video.channel_id == Channel.uuid, in_uuids(conn, Channel.uuid, ids))
        .values(
            original_channel_metadata=snapshot_expression(conn, now, reason),
            channel_title_snapshot=Channel.title,
            channel_id_snapshot=Channel.channel_id,
            updated_at=now,
        )
    )
    watch = (
        sa.update(UserVideo)
        .where(UserVideo.video_id == Video.uuid, in_uuids(conn, Video.channel_id, ids))
        .values(channel_context=Video.original_channel_metadata)
    )
    if only_missing:
        videos = videos.where(Video.original_channel_metadata.is_(None))
        watch = watch.where(UserVideo.channel_context.is_(None))
    n_videos = conn.execute(videos).rowcount
    n_watch = conn.execute(watch).rowcount
    return SnapshotCounts(n_videos, n_watch)


def preserved_counts(conn: Connection, channel_ids: Sequence[str]) -> SnapshotCounts:
    """Channel-less videos of these YouTube ids that carry a snapshot, and their watch rows with context."""
    base = (
        Video.channel_id.is_(None),
        Video.original_channel_metadata.is_not(None),
        in_strings(conn, Video.channel_id_snapshot, channel_ids),
    )
    videos = conn.execute(sa.select(sa.func.count()).select_from(Video).where(*base)).scalar_one()
    watch = conn.execute(
        sa.select(sa.func.count())
        .select_from(UserVideo)
        .join(Video, UserVideo.video_id == Video.uuid)
        .where(*base, UserVideo.channel_context.is_not(None))
    ).scalar_one()
    return SnapshotCounts(videos, watch)
