"""videos_video (channel_id, video_id) index: uploads match stored videos on the channel link

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

Videos the gallery app imported carry the channel link but no channel_id_snapshot, so uploads look
stored videos up by (channel_id, video_id). Not unique: that would be a new constraint on the app's
table (its own imports may hold duplicates). Built CONCURRENTLY on an existing table (see adoption).
"""

import sqlalchemy as sa
from alembic import op

from channel_assets.db.core import adoption

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TARGET = sa.MetaData()
sa.Table(
    "videos_video", TARGET,
    sa.Column("uuid", sa.Uuid(), primary_key=True, info={"app": True}),
    sa.Column("video_id", sa.String(32), nullable=False, info={"app": True}),
    sa.Column("channel_id", sa.Uuid(), info={"app": True}),
    sa.Index("video_channel_video_idx", "channel_id", "video_id"),
    info={"partial": True},
)


def upgrade() -> None:
    adoption.apply(op, TARGET)


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS video_channel_video_idx")
