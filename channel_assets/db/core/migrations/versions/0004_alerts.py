"""alert states and outbox

Revision ID: 0004_alerts
Revises: 0003
Create Date: 2026-12-01

Two small pipeline-owned tables for alerts (channel_assets.alerts): ``alert_states`` remembers
which condition is failing (so a lasting failure repeats at most daily and its recovery is told
once), ``alert_outbox`` keeps every message per channel until it is delivered (a receiver that is
down gets it on a later tick, exactly once). Nothing of the gallery app's tables changes; created
through adoption like every revision, so re-running it is a no-op.
"""

import sqlalchemy as sa
from alembic import op

from channel_assets.db.core import adoption

revision = "0004_alerts"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
TARGET = sa.MetaData()
sa.Table(
    "alert_states", TARGET,
    sa.Column("condition", sa.String(200), primary_key=True),
    sa.Column("failing", sa.Boolean(), nullable=False),
    sa.Column("since", TS, nullable=False),
    sa.Column("last_sent_at", TS, nullable=False),
    sa.Column("title", sa.Text(), nullable=False),
)
sa.Table(
    "alert_outbox", TARGET,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("dedup_key", sa.String(300), nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("condition", sa.String(200), nullable=False),
    sa.Column("severity", sa.String(10), nullable=False),
    sa.Column("title", sa.Text(), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("link", sa.Text()),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
    sa.Column("last_error", sa.Text()),
    sa.Column("done_at", TS),
    sa.Column("outcome", sa.String(20)),
    sa.UniqueConstraint("dedup_key", "channel", name="alert_outbox_key_channel_uniq"),
    sa.Index("alert_outbox_pending_idx", "done_at", "id"),
)


def upgrade() -> None:
    adoption.apply(op, TARGET)


def downgrade() -> None:
    op.drop_table("alert_outbox")
    op.drop_table("alert_states")
