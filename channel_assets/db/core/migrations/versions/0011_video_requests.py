"""Video refresh requests through the app's request table; an index on videos_video (video_id)

Revision ID: 0011_video_requests
Revises: 0010_video_metadata
Create Date: 2026-12-05

- channel_pipeline_requests: `video_ids` (nullable: only a video refresh names videos) and the kind CHECK
  re-made with 'video_refresh' (revision 0009 named it for this). The CHECK is added NOT VALID then
  validated, so the table is locked only for the catalog change, not for the scan of its rows.
- videos_video(video_id): a request's ids are looked up by `video_id = ANY(...)` (the intake at the app's
  request time, the refresh by id, the outcomes read back); the app's indexes all lead with a channel
  column, so without it each lookup is a sequential scan of the whole table. Built CONCURRENTLY on the
  existing table. The refresh never writes video_id, so its updates stay HOT.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from channel_assets.db.core import adoption

revision = "0011_video_requests"
down_revision = "0010_video_metadata"
branch_labels = None
depends_on = None

KIND_CHECK = "channel_pipeline_requests_kind_check"
KINDS = ("refresh", "cleanup", "cleanup_dry_run")

TARGET = sa.MetaData()
sa.Table(
    "channel_pipeline_requests", TARGET,
    sa.Column("id", sa.BigInteger(), primary_key=True),
    sa.Column("video_ids", postgresql.ARRAY(sa.Text())),
    info={"partial": True},
)
sa.Table(
    "videos_video", TARGET,
    sa.Column("uuid", sa.Uuid(), primary_key=True, info={"app": True}),
    sa.Column("video_id", sa.String(32), info={"app": True}),
    sa.Index("video_video_id_idx", "video_id"),
    info={"partial": True},
)


def _kind_check(kinds: tuple[str, ...]) -> None:
    values = ", ".join(f"'{k}'" for k in kinds)
    op.execute(f"SET LOCAL lock_timeout = '{adoption.LOCK_TIMEOUT}'")
    op.execute(f"ALTER TABLE channel_pipeline_requests DROP CONSTRAINT IF EXISTS {KIND_CHECK}, "
               f"ADD CONSTRAINT {KIND_CHECK} CHECK (kind IN ({values})) NOT VALID")
    op.execute(f"ALTER TABLE channel_pipeline_requests VALIDATE CONSTRAINT {KIND_CHECK}")


def upgrade() -> None:
    _kind_check((*KINDS, "video_refresh"))
    adoption.apply(op, TARGET)


def downgrade() -> None:
    # The video requests go with their column: the old CHECK would refuse them.
    op.execute("DELETE FROM channel_pipeline_requests WHERE kind = 'video_refresh'")
    _kind_check(KINDS)
    op.execute("ALTER TABLE channel_pipeline_requests DROP COLUMN IF EXISTS video_ids")
    op.execute("DROP INDEX IF EXISTS video_video_id_idx")
