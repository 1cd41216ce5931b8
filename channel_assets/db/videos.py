"""Video inserts of the uploads pass, matched on the channel link as the gallery app stores videos."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from channel_assets.db.models import Video

# Every column the pipeline writes, including those with a server default in its own schema: the app's
# schema (Django) has none for uuid, title, description, created_at, updated_at.
INSERT_COLUMNS = ("uuid", "video_id", "channel_id", "channel_id_snapshot", "title", "description", "published_at",
                  "duration", "view_count", "created_at", "updated_at")
CHUNK = 1000


def insert_new_videos(conn: sa.Connection, rows: Sequence[dict]) -> int:
    """Insert the rows whose (channel_id, video_id) is not stored yet; returns how many were inserted.

    The app's imported videos have the channel link but no channel_id_snapshot, so the guard is a NOT EXISTS
    on (channel_id, video_id) (index video_channel_video_idx), not the snapshot unique constraint, which
    only the pipeline's own schema has (ON CONFLICT DO NOTHING still honours it there). A video preserved
    from a removed channel (channel_id NULL, snapshot kept) counts as stored too: the re-link gives it back
    to the re-created channel, so inserting it again would duplicate it. Callers hold the channel rows
    locked, so two runs on one channel cannot both pass the guard.
    """
    t = Video.__table__
    inserted = 0
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        new = sa.values(*[sa.column(c, t.c[c].type) for c in INSERT_COLUMNS], name="new").data(
            [tuple(r[c] for c in INSERT_COLUMNS) for r in chunk])
        stored = sa.exists().where(t.c.channel_id == new.c.channel_id, t.c.video_id == new.c.video_id)
        preserved = sa.exists().where(t.c.channel_id.is_(None), t.c.channel_id_snapshot == new.c.channel_id_snapshot,
                                      t.c.video_id == new.c.video_id)
        select = sa.select(*[sa.cast(new.c[c], t.c[c].type) for c in INSERT_COLUMNS]).where(~stored, ~preserved)
        stmt = pg_insert(t).from_select(list(INSERT_COLUMNS), select).on_conflict_do_nothing().returning(t.c.uuid)
        inserted += len(conn.execute(stmt).all())
    return inserted
