"""channel_pipeline_requests: the gallery app's requests to the pipeline; the ledger's user-request units

Revision ID: 0009_app_requests
Revises: 0008_channel_pipeline_written_at
Create Date: 2026-12-04

The app and the pipeline share PostgreSQL, so the app asks through a table: it inserts a row (a refresh of
some channels, a cleanup or a cleanup dry run; who asked and why), a sensor turns queued rows into runs
and each row's status goes queued -> running -> done or failed (or refused at once, with a reason). The
two CHECKs are named so a later revision can drop and re-add them with more values (a video-refresh kind).
The partial index keeps the sensor's "queued or running" read small whatever the history; the user index
serves the per-user rate limit.

`api_quota_ledger.user_request_units`: the units user requests spent that day, reserved in the same
statement as the day's total so their cap is never crossed either. Nothing of the app's tables changes.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from channel_assets.db.core import adoption

revision = "0009_app_requests"
down_revision = "0008_channel_pipeline_written_at"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
TARGET = sa.MetaData()
sa.Table(
    "channel_pipeline_requests", TARGET,
    sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
    sa.Column("kind", sa.Text(), nullable=False),
    sa.Column("channel_ids", postgresql.ARRAY(sa.Text())),
    sa.Column("requested_by", sa.Text(), nullable=False),
    sa.Column("user_id", sa.BigInteger()),
    sa.Column("reason", sa.Text(), server_default="", nullable=False),
    sa.Column("status", sa.Text(), server_default="queued", nullable=False),
    sa.Column("status_reason", sa.Text()),
    sa.Column("run_id", sa.Text()),
    sa.Column("outcome", postgresql.JSONB(astext_type=sa.Text())),
    sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
    sa.Column("started_at", TS),
    sa.Column("finished_at", TS),
    sa.CheckConstraint("kind IN ('refresh', 'cleanup', 'cleanup_dry_run')",
                       name="channel_pipeline_requests_kind_check"),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed', 'refused')",
                       name="channel_pipeline_requests_status_check"),
    sa.Index("channel_pipeline_requests_pending_idx", "id",
             postgresql_where=sa.text("status IN ('queued', 'running')")),
    sa.Index("channel_pipeline_requests_user_idx", "user_id", "created_at",
             postgresql_where=sa.text("user_id IS NOT NULL")),
)
sa.Table(
    "api_quota_ledger", TARGET,
    sa.Column("quota_day", sa.Date(), primary_key=True),
    sa.Column("user_request_units", sa.Integer(), server_default="0", nullable=False),
    info={"partial": True},
)


def upgrade() -> None:
    adoption.apply(op, TARGET)


def downgrade() -> None:
    op.execute("ALTER TABLE api_quota_ledger DROP COLUMN IF EXISTS user_request_units")
    op.drop_table("channel_pipeline_requests")
