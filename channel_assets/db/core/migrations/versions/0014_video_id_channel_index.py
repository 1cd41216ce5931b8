"""videos_video: one (video_id, channel_id) index in place of 0003's (channel_id, video_id) and 0011's (video_id)

Revision ID: 0014_video_id_channel_index
Revises: 0013_video_requested_partial
Create Date: 2026-12-05

Two of the pipeline's own indexes on videos_video held the same two columns: revision 0003's
`video_channel_video_idx` (channel_id, video_id), for the uploads pass's "is this video of this channel
stored?" probes, and revision 0011's `video_video_id_idx` (video_id), for lookups by YouTube id. One index
on (video_id, channel_id) answers both: a lookup by id reads its leading column, a probe by (channel,
video) is one exact match on both, still answerable from the index alone. Every row a write moves out
of its page (the video refresh's first pass moves about half of them: they grow) pays one entry per index
of the table, so one index fewer is one insertion fewer per moved row: on the bench's 1M-video first
pass the server's CPU went from 71-74 s to 67-69 s (README, the video metadata refresh).

The new index is built CONCURRENTLY (through adoption: a re-run, an interrupted build and `--sql` are
handled as in every revision), then the two old ones go with DROP INDEX CONCURRENTLY, outside a
transaction: the app keeps reading and writing videos_video. They are dropped only once an index on
exactly (video_id, channel_id) serves (ours, or the app's under any name), and only the two this
revision names: an app's own index on those columns is never touched.
"""

import sqlalchemy as sa
from alembic import op

from channel_assets.db.core import adoption

revision = "0014_video_id_channel_index"  # alembic_version.version_num is varchar(32)
down_revision = "0013_video_requested_partial"
branch_labels = None
depends_on = None

NEW = "video_video_channel_idx"
OLD = ("video_channel_video_idx", "video_video_id_idx")
# The indexes of revisions 0003 and 0011 this one drops: `db check` (channel_assets.db.core.migrate) no
# longer asks for them.
RETIRED_INDEXES = OLD


def _target(*indexes: sa.Index) -> sa.MetaData:
    metadata = sa.MetaData()
    sa.Table(
        "videos_video", metadata,
        sa.Column("uuid", sa.Uuid(), primary_key=True, info={"app": True}),
        sa.Column("video_id", sa.String(32), nullable=False, info={"app": True}),
        sa.Column("channel_id", sa.Uuid(), info={"app": True}),
        *indexes,
        info={"partial": True},
    )
    return metadata


TARGET = _target(sa.Index(NEW, "video_id", "channel_id"))
# The downgrade's: revisions 0003's and 0011's indexes.
BEFORE = _target(sa.Index(OLD[0], "channel_id", "video_id"), sa.Index(OLD[1], "video_id"))


def _serving_index_exists(conn: sa.Connection) -> bool:
    """A valid, non-partial index on videos_video on exactly (video_id, channel_id), under any name."""
    return bool(conn.exec_driver_sql(
        "SELECT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = to_regclass('videos_video') AND i.indisvalid "
        "AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts = 2 "
        "AND i.indkey[0] = (SELECT attnum FROM pg_attribute WHERE attrelid = i.indrelid AND attname = 'video_id') "
        "AND i.indkey[1] = (SELECT attnum FROM pg_attribute WHERE attrelid = i.indrelid AND attname = 'channel_id'))"
    ).scalar())


def upgrade() -> None:
    adoption.replace_indexes(op, TARGET, "videos_video", NEW, OLD, _serving_index_exists)


def downgrade() -> None:
    adoption.apply(op, BEFORE)
    adoption.drop_indexes(op, (NEW,), table_exists=True)
