"""Watch-history preservation: the channel snapshot is built in SQL and written per batch.

One UPDATE ... FROM per batch for the videos, and the watch rows by their videos' own ids a few
thousand at a time, instead of the seed's save() per video and per watch row. The JSON is built by
the database (jsonb_build_object) with ISO-8601 UTC timestamps.

Watch rows are reached through users_uservideo(video_id) with `video_id = ANY(:video ids)`: joined on
the videos' channel instead, the planner hash-joins a sequential scan of the whole watch table per
batch (10M rows: about 5 of the 8 s of a 5,000-channel batch on the benchmark); with a few thousand
video ids it keeps a bitmap index scan. Above ~20k ids it flips back to the scan, hence the chunks.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from channel_assets.db.core.batching import chunks, in_strings, in_uuids
from channel_assets.db.core.engine import Refused, with_retries
from channel_assets.db.core.models import Channel, ChannelUpdateLog, UserVideo, Video

CLEANUP_REASON = "orphaned_channel_removal"
# Video ids per watch-row statement, bound as one array (see the module docstring for why not more).
VIDEO_CHUNK = 5_000
# The sweep's connections: its cost is visiting each watch row of the removed videos (pages long gone from
# shared buffers by then: ~2.6 s for 200k rows on one connection), work two backends share.
SWEEP_CONNECTIONS = 2


@dataclass(frozen=True)
class SnapshotCounts:
    videos: int
    watch_rows: int


@dataclass
class Detached:
    """The channels a run removed and the videos it detached from them, kept in memory for the run's sweep."""

    channel_ids: set[str] = field(default_factory=set)
    videos: list[uuid.UUID] = field(default_factory=list)


def _iso_utc(column):
    return sa.func.to_char(sa.func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')


def snapshot_expression(now: datetime, reason: str):
    """The snapshot document of the joined Channel row, as a SQL expression."""
    text = sa.String
    return sa.func.jsonb_build_object(
        sa.literal("channel_uuid", text), sa.cast(Channel.uuid, sa.Text),
        sa.literal("channel_id", text), Channel.channel_id,
        sa.literal("title", text), Channel.title,
        sa.literal("description", text), Channel.description,
        sa.literal("url", text), Channel.url,
        sa.literal("subscriber_count", text), Channel.subscriber_count,
        sa.literal("video_count", text), Channel.video_count,
        sa.literal("view_count", text), Channel.view_count,
        sa.literal("last_updated", text), _iso_utc(Channel.last_updated),
        sa.literal("snapshot_created_at", text), sa.literal(now.isoformat(), text),
        sa.literal("cleanup_reason", text), sa.literal(reason, text),
    )


def video_ids(conn: Connection, ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """The videos of channels `ids` (served by video_channel_idx)."""
    if not ids:
        return []
    return list(conn.execute(sa.select(Video.uuid).where(in_uuids(Video.channel_id, ids))).scalars())


def context_watch_rows(conn: Connection, vids: Sequence[uuid.UUID]) -> int:
    """Copy each video's snapshot into the channel context of watch rows that have none yet (a context
    written by an earlier removal is the channel as the user knew it: kept); returns rows updated."""
    updated = 0
    for chunk in chunks(list(vids), VIDEO_CHUNK):
        watch = (
            sa.update(UserVideo)
            .where(UserVideo.video_id == Video.uuid, in_uuids(UserVideo.video_id, chunk),
                   in_uuids(Video.uuid, chunk))
            .where(UserVideo.channel_context.is_(None))
            .values(channel_context=Video.original_channel_metadata)
        )
        updated += conn.execute(watch).rowcount
    return updated


def snapshot_channels(conn: Connection, ids: Sequence[uuid.UUID], now: datetime, *,
                      reason: str = CLEANUP_REASON) -> SnapshotCounts:
    """Write the snapshot into the videos of `ids` and the context into their watch rows, only where none
    is there yet: an earlier snapshot (a previous removal of a re-created channel) is kept, never overwritten."""
    if not ids:
        return SnapshotCounts(0, 0)
    videos = (
        sa.update(Video)
        .where(Video.channel_id == Channel.uuid, in_uuids(Channel.uuid, ids),
               Video.original_channel_metadata.is_(None))
        .values(
            original_channel_metadata=snapshot_expression(now, reason),
            channel_title_snapshot=Channel.title,
            channel_id_snapshot=Channel.channel_id,
            updated_at=now,
        )
    )
    n_videos = conn.execute(videos).rowcount
    n_watch = context_watch_rows(conn, video_ids(conn, ids))
    return SnapshotCounts(n_videos, n_watch)


def fill_missing_watch_context(engine: Engine, removed_since: datetime, removed_until: datetime,
                               known: Detached | None = None) -> int:
    """Give the watch rows of the videos of channels removed in [`removed_since`, `removed_until`] that have no
    channel context yet their video's snapshot: rows the app recorded while or after their channel was removed.
    The channels come from the removal log (its created_at index); their videos through
    video_channel_snapshot_idx, with the ids bound as arrays (a join here is at the planner's mercy when the
    log's statistics lag behind the day's removals), except those of `known` (the caller's own removals,
    whose videos it holds). One short transaction per VIDEO_CHUNK videos, SWEEP_CONNECTIONS at a time.
    Returns the rows filled."""
    known = known or Detached()
    log = ChannelUpdateLog.__table__.c
    with engine.connect() as conn:
        removed = [cid for cid in conn.execute(sa.select(log.channel_id).where(
            log.created_at >= removed_since, log.created_at <= removed_until, log.update_type == "removal",
            log.changes_made["phase"].as_string() == "hard_delete")).scalars() if cid not in known.channel_ids]
        vids = [vid for chunk in chunks(removed, VIDEO_CHUNK) for vid in conn.execute(sa.select(Video.uuid).where(
            in_strings(Video.channel_id_snapshot, chunk), Video.channel_id.is_(None),
            Video.original_channel_metadata.is_not(None))).scalars()]
    vids = list(dict.fromkeys(known.videos + vids))

    def fill(chunk: list[uuid.UUID]) -> int:
        try:
            return with_retries(engine, lambda conn: context_watch_rows(conn, chunk))
        except Refused:
            return 0  # rows a busy app holds now: the next cycle's sweep gives them their context

    with ThreadPoolExecutor(SWEEP_CONNECTIONS, thread_name_prefix="sweep") as pool:
        return sum(pool.map(fill, chunks(vids, VIDEO_CHUNK)))


def detach_videos(conn: Connection, ids: Sequence[uuid.UUID], now: datetime,
                  reason: str = CLEANUP_REASON) -> list[uuid.UUID]:
    """The hard delete's one pass over the videos of `ids`: snapshot those that have none yet and null
    their channel, in a single UPDATE (one new row version per video instead of two). Returns their ids.
    Every SET expression reads the row as it was, so an existing snapshot is kept as is."""
    if not ids:
        return []
    missing = Video.original_channel_metadata.is_(None)
    return list(conn.execute(
        sa.update(Video)
        .where(Video.channel_id == Channel.uuid, in_uuids(Channel.uuid, ids))
        .values(
            original_channel_metadata=sa.case(
                (missing, snapshot_expression(now, reason)), else_=Video.original_channel_metadata),
            channel_title_snapshot=sa.case((missing, Channel.title), else_=Video.channel_title_snapshot),
            channel_id_snapshot=sa.case((missing, Channel.channel_id), else_=Video.channel_id_snapshot),
            channel_id=None,
            updated_at=now,
        )
        .returning(Video.uuid)
    ).scalars())


def preserved_counts(conn: Connection, vids: Sequence[uuid.UUID]) -> tuple[SnapshotCounts, int]:
    """Of the videos `vids`: how many are channel-less with a snapshot, how many watch rows they have with
    channel context, and how many watch rows they have without it (must be 0 before a delete commits)."""
    # Only the ids filter (conditions are counted, not filtered): on a freshly cloned or un-analyzed
    # database the planner believes "channel_id IS NULL" matches nothing and walks every channel-less
    # video through video_channel_idx instead of the primary key (measured: 7 s of a 20k-channel cycle).
    def tally(cond):
        return sa.func.coalesce(sa.func.sum(sa.case((cond, 1), else_=0)), 0)

    videos = watch = unpreserved = 0
    for chunk in chunks(list(vids), VIDEO_CHUNK):
        videos += conn.execute(
            sa.select(tally(sa.and_(Video.channel_id.is_(None), Video.original_channel_metadata.is_not(None))))
            .where(in_uuids(Video.uuid, chunk))
        ).scalar_one()
        with_context, without = conn.execute(
            sa.select(tally(UserVideo.channel_context.is_not(None)), tally(UserVideo.channel_context.is_(None)))
            .where(in_uuids(UserVideo.video_id, chunk))
        ).one()
        watch += with_context
        unpreserved += without
    return SnapshotCounts(videos, watch), unpreserved
