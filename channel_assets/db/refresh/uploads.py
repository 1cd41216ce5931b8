"""The uploads pass's reads and writes, matched on the channel link as the gallery app stores videos."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import psycopg
import sqlalchemy as sa
from sqlalchemy import Engine, and_, bindparam, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from channel_assets.db.core.models import Channel, Video

# Every column the pipeline writes, including those with a server default in its own schema: the app's
# schema (Django) has none for uuid, title, description, created_at, updated_at.
INSERT_COLUMNS = ("uuid", "video_id", "channel_id", "channel_id_snapshot", "title", "description", "published_at",
                  "duration", "view_count", "created_at", "updated_at")
CHUNK = 1000


@dataclass(frozen=True, slots=True)
class NewVideo:
    """A video an uploads check found, with the details `videos.list` gave ('' and None where it gave none:
    the details call is best effort, the id and date from the feed or playlist are what matter)."""

    channel_uuid: uuid.UUID
    channel_id: str
    video_id: str
    published_at: datetime | None
    title: str = ""
    description: str = ""
    duration: int | None = None
    view_count: int | None = None


def _row(video: NewVideo, now: datetime) -> tuple:
    """The videos_video row of `video`, in INSERT_COLUMNS order."""
    return (uuid.uuid4(), video.video_id, video.channel_uuid, video.channel_id, video.title, video.description,
            video.published_at, video.duration, video.view_count, now, now)


def insert_new_videos(conn: sa.Connection, videos: Sequence[NewVideo], now: datetime) -> int:
    """Insert the videos whose (channel_id, video_id) is not stored yet; returns how many were inserted.

    The app's imported videos have the channel link but no channel_id_snapshot, so the guard is a NOT EXISTS
    on (channel_id, video_id) (index video_video_channel_idx), not the snapshot unique constraint, which
    only the pipeline's own schema has (ON CONFLICT DO NOTHING still honours it there). A video preserved
    from a removed channel (channel_id NULL, snapshot kept) counts as stored too: the re-link gives it back
    to the re-created channel, so inserting it again would duplicate it. Callers hold the channel rows
    locked, so two runs on one channel cannot both pass the guard.
    """
    t = Video.__table__
    # NOT EXISTS sees the table as it was before the statement: a pair twice in one INSERT (a playlist
    # whose pages shifted while walked, a feed listing an entry twice) would go in twice on the app's
    # schema, which has no unique key to stop it. Keep the first of each pair.
    videos = list({(v.channel_uuid, v.video_id): v for v in reversed(videos)}.values())[::-1]
    inserted = 0
    for start in range(0, len(videos), CHUNK):
        chunk = videos[start : start + CHUNK]
        new = sa.values(*[sa.column(c, t.c[c].type) for c in INSERT_COLUMNS], name="new").data(
            [_row(v, now) for v in chunk])
        stored = sa.exists().where(t.c.channel_id == new.c.channel_id, t.c.video_id == new.c.video_id)
        preserved = sa.exists().where(t.c.channel_id.is_(None), t.c.channel_id_snapshot == new.c.channel_id_snapshot,
                                      t.c.video_id == new.c.video_id)
        select = sa.select(*[sa.cast(new.c[c], t.c[c].type) for c in INSERT_COLUMNS]).where(~stored, ~preserved)
        stmt = pg_insert(t).from_select(list(INSERT_COLUMNS), select).on_conflict_do_nothing().returning(t.c.uuid)
        inserted += len(conn.execute(stmt).all())
    return inserted


def mark_uploads_checked(conn: sa.Connection, latest_by_channel: dict[str, datetime | None], now: datetime) -> None:
    """Stamp uploads_checked_at and last_upload_at, in channel-id order: this locks the rows, so a concurrent
    run of the same channels waits here and its insert then sees these videos."""
    if not latest_by_channel:
        return
    c = Channel.__table__.c
    conn.execute(update(Channel.__table__).where(c.channel_id == bindparam("b_id")).values(
        uploads_checked_at=now, last_upload_at=bindparam("v_latest", type_=c.last_upload_at.type)),
        [{"b_id": cid, "v_latest": latest_by_channel[cid]} for cid in sorted(latest_by_channel)])


@lru_cache(maxsize=8)
def _anti_join_sql(pairs: int) -> str:
    # PostgreSQL's own $n placeholders, run on a psycopg RawCursor: psycopg converts %s statements of more
    # than 50 parameters anew on every execution (it memoises only short ones), which was ~8% of the
    # uploads pass's CPU.
    rows = ",".join(f"(${2 * k + 1},${2 * k + 2})" for k in range(pairs))
    # On the channel link (the app's own imports leave channel_id_snapshot empty), or, for a video preserved
    # from a removed channel and not re-linked yet, on its snapshot (see db.videos.insert_new_videos).
    return (f"WITH feed(cid, vid) AS (VALUES {rows}) SELECT feed.cid, feed.vid FROM feed "
            "LEFT JOIN videos_channel c ON c.channel_id = feed.cid "
            "WHERE NOT EXISTS (SELECT 1 FROM videos_video v WHERE v.channel_id = c.uuid AND v.video_id = feed.vid) "
            "AND NOT EXISTS (SELECT 1 FROM videos_video v WHERE v.channel_id IS NULL "
            "AND v.channel_id_snapshot = feed.cid AND v.video_id = feed.vid)")


def unstored_pairs(engine: Engine, pairs: set[tuple[str, str]], pairs_per_query: int = 450) -> set[tuple[str, str]]:
    """The (channel, video) pairs among a whole group's feed entries that are NOT stored yet: a LEFT JOIN
    anti-join of a VALUES list, 450 pairs (900 bound parameters) per statement. Plan: per pair, one probe
    of videos_channel's unique channel_id and one of videos_video (video_id, channel_id) (the channel
    link: the app's imports have no channel_id_snapshot). Past
    ~1,000 pairs PostgreSQL switched to a hash join over a scan of the whole table, hence the small chunks.
    In steady state nearly every entry is stored, so this returns a handful of rows where fetching the
    stored ones returned ~15 per channel. Plain SQL text: compiling thousands of bound VALUES through
    SQLAlchemy took longer than running the query."""
    ordered = sorted(pairs)
    new: set[tuple[str, str]] = set()
    with engine.connect() as conn, psycopg.RawCursor(conn.connection.driver_connection) as cur:
        for i in range(0, len(ordered), pairs_per_query):
            chunk = ordered[i : i + pairs_per_query]
            cur.execute(_anti_join_sql(len(chunk)), [x for pair in chunk for x in pair])
            new |= {(cid, vid) for cid, vid in cur.fetchall()}
    return new


def stored_among(engine: Engine, channel_uuid: uuid.UUID, pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Stored (channel, video) pairs among `pairs` (one channel's): `channel_id = :uuid AND video_id IN (…)`
    walks the (channel_id, video_id) index; the channel link, as the app's imports have no snapshot."""
    if not pairs:
        return set()
    (channel_id,) = {cid for cid, _ in pairs}
    v = Video.__table__.c
    with engine.connect() as conn:
        rows = conn.execute(select(v.video_id).where(or_(v.channel_id == channel_uuid, and_(
                                v.channel_id.is_(None), v.channel_id_snapshot == channel_id)),
                                                     v.video_id.in_(sorted(vid for _, vid in pairs))))
        return {(channel_id, r[0]) for r in rows}
