"""alert states and outbox

Revision ID: 0003_alerts
Revises: 0002
Create Date: 2026-12-01

Two small pipeline-owned tables for alerts (channel_assets.alerts): ``alert_states`` remembers
which condition is failing (so a lasting failure repeats at most daily and its recovery is told
once), ``alert_outbox`` keeps every message per channel until it is delivered (a receiver that is
down gets it on a later tick, exactly once). Nothing of the gallery app's tables changes.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_alerts"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_states",
        sa.Column("condition", sa.String(length=200), nullable=False),
        sa.Column("failing", sa.Boolean(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("condition"),
    )
    op.create_table(
        "alert_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sa.String(length=300), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("condition", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedup_key", "channel", name="alert_outbox_key_channel_uniq"),
    )
    op.create_index("alert_outbox_pending_idx", "alert_outbox", ["done_at", "id"])


def downgrade() -> None:
    op.drop_index("alert_outbox_pending_idx", table_name="alert_outbox")
    op.drop_table("alert_outbox")
    op.drop_table("alert_states")
