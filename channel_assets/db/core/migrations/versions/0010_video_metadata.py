"""Video metadata refresh: YouTube's values and availability on videos_video, the refresh schedule

Revision ID: 0010_video_metadata
Revises: 0008_channel_pipeline_written_at
Create Date: 2026-12-04

- videos_video: nullable columns for the counts, texts, status and availability the video refresh writes
  (none indexed except the requested-refresh marker, which changes only on requested rows), and
  fillfactor 80 so a refresh's new row version fits on its page: a HOT update writes no index entry in
  any of the table's six indexes (the earlier attempt's 1M-video refresh was bound by that index upkeep).
  Like revision 0002, the storage parameter changes no row and applies to pages written from now on.
- video_refresh_schedule: the pipeline's table of when each video is due, indexed (shard, due_at).
- users_uservideo(watched_at): "watched by any user in the last 30 days" for the video tiers.
- api_quota_ledger.video_units: the part of a day's units the video refresh reserved (its own cap).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from channel_assets.db.core import adoption

revision = "0010_video_metadata"
down_revision = "0008_channel_pipeline_written_at"
branch_labels = None
depends_on = None

JSONB = postgresql.JSONB(astext_type=sa.Text())
VIDEO_COLUMNS = (
    sa.Column("like_count", sa.BigInteger()),
    sa.Column("comment_count", sa.BigInteger()),
    sa.Column("tags", JSONB),
    sa.Column("thumbnail_url", sa.String(500)),
    sa.Column("privacy_status", sa.String(20)),
    sa.Column("upload_status", sa.String(20)),
    sa.Column("embeddable", sa.Boolean()),
    sa.Column("region_restriction", JSONB),
    sa.Column("unavailable_reason", sa.String(20)),
    sa.Column("unavailable_at", sa.DateTime(timezone=True)),
    sa.Column("unavailable_suspected_at", sa.DateTime(timezone=True)),
    sa.Column("metadata_refreshed_at", sa.DateTime(timezone=True)),
    sa.Column("metadata_refresh_requested_at", sa.DateTime(timezone=True)),
)

TARGET = sa.MetaData()
sa.Table(
    "videos_video", TARGET,
    sa.Column("uuid", sa.Uuid(), primary_key=True, info={"app": True}),
    *VIDEO_COLUMNS,
    sa.Index("video_refresh_requested_idx", "metadata_refresh_requested_at"),
    info={"partial": True},
)
sa.Table(
    "users_uservideo", TARGET,
    sa.Column("id", sa.BigInteger(), primary_key=True, info={"app": True}),
    sa.Column("watched_at", sa.DateTime(timezone=True), info={"app": True}),
    sa.Index("users_uservideo_watched_idx", "watched_at"),
    info={"partial": True},
)
sa.Table(
    "api_quota_ledger", TARGET,
    sa.Column("quota_day", sa.Date(), primary_key=True),
    sa.Column("video_units", sa.Integer(), nullable=False, server_default="0"),
    info={"partial": True},
)
sa.Table(
    "video_refresh_schedule", TARGET,
    sa.Column("video_uuid", sa.Uuid(), primary_key=True),
    sa.Column("shard", sa.SmallInteger(), nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("refreshed_at", sa.DateTime(timezone=True)),
    sa.Index("video_refresh_schedule_due_idx", "shard", "due_at"),
)


def upgrade() -> None:
    adoption.apply(op, TARGET)
    op.execute("ALTER TABLE videos_video SET (fillfactor = 80)")


def downgrade() -> None:
    op.execute("ALTER TABLE videos_video RESET (fillfactor)")
    op.execute("DROP TABLE IF EXISTS video_refresh_schedule")
    op.execute("DROP INDEX IF EXISTS users_uservideo_watched_idx")
    op.execute("DROP INDEX IF EXISTS video_refresh_requested_idx")
    op.execute("ALTER TABLE api_quota_ledger DROP COLUMN IF EXISTS video_units")
    for col in VIDEO_COLUMNS:
        op.execute(f"ALTER TABLE videos_video DROP COLUMN IF EXISTS {col.name}")
