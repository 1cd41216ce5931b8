"""videos_channel.pipeline_written_at: the updated_at the pipeline last wrote, to notice the app's saves

Revision ID: 0008_channel_pipeline_written_at
Revises: 0005_update_log_error_type
Create Date: 2026-12-03

Django's Model.save() writes every field of the model, so an app that loaded a channel before a refresh
and saves it after writes its stale copy of the YouTube fields back (and a new updated_at). Every pipeline
write of a channel row stamps updated_at and this column with the same moment; a row whose updated_at
differs was saved by the app since, and the next refresh run makes it due at once (YouTube's values come
back, logged old→new). Nullable, no default: no row is rewritten; NULL (never written by the pipeline since
this revision) means "unknown", not "saved by the app".
"""

import sqlalchemy as sa
from alembic import op

from channel_assets.db.core import adoption

revision = "0008_channel_pipeline_written_at"
down_revision = "0005_update_log_error_type"
branch_labels = None
depends_on = None

TARGET = sa.MetaData()
sa.Table(
    "videos_channel", TARGET,
    sa.Column("uuid", sa.Uuid(), primary_key=True, info={"app": True}),
    sa.Column("pipeline_written_at", sa.DateTime(timezone=True)),
    info={"partial": True},
)


def upgrade() -> None:
    adoption.apply(op, TARGET)


def downgrade() -> None:
    op.execute("ALTER TABLE videos_channel DROP COLUMN IF EXISTS pipeline_written_at")
