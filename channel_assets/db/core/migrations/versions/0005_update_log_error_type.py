"""channel_update_logs.error_type: what kind of failure a failed refresh met

Revision ID: 0005_update_log_error_type
Revises: 0004_alerts
Create Date: 2026-12-01

Seed 000's error logs carry a type (not found, access denied, invalid data, rate limited, …): the failure
cap (5 access-denied failures make a channel unavailable), the channel history and the circuit-breaker
alert read it instead of parsing error text. A nullable column on the pipeline's own table, added through
adoption like every revision, so re-running it is a no-op.
"""

import sqlalchemy as sa
from alembic import op

from channel_assets.db.core import adoption

revision = "0005_update_log_error_type"
down_revision = "0004_alerts"
branch_labels = None
depends_on = None

TARGET = sa.MetaData()
sa.Table(
    "channel_update_logs", TARGET,
    sa.Column("id", sa.BigInteger(), primary_key=True),
    sa.Column("error_type", sa.String(20)),
    info={"partial": True},
)


def upgrade() -> None:
    adoption.apply(op, TARGET)


def downgrade() -> None:
    op.execute("ALTER TABLE channel_update_logs DROP COLUMN IF EXISTS error_type")
