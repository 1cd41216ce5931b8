"""initial schema: create it on an empty database, adopt the gallery app's existing tables

Revision ID: 0001
Revises:
Create Date: 2026-11-26

The tables as the pipeline first needed them, frozen here, with ownership markers for adoption (see
channel_assets.db.core.adoption): on an empty database everything is created; on the gallery app's (tables
made by Django's migrate) only the pipeline's tables, columns and indexes are added, and the app's
columns are checked, never altered, except videos_video.channel_id DROP NOT NULL (seed 000's own
migration makes it nullable so videos outlive their channel).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from channel_assets.db.core import adoption

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APP = {"app": True}
CREATE_ONLY = {"create_only": True}
NOW = sa.text("CURRENT_TIMESTAMP")
TS = sa.DateTime(timezone=True)
JSONB = postgresql.JSONB(astext_type=sa.Text())

BASELINE = sa.MetaData()

sa.Table(
    "api_quota_ledger", BASELINE,
    sa.Column("quota_day", sa.Date(), primary_key=True),
    sa.Column("units_reserved", sa.Integer(), server_default="0", nullable=False),
    sa.Column("units_used", sa.Integer(), server_default="0", nullable=False),
    sa.Column("exhausted_at", TS),
    sa.Column("updated_at", TS, server_default=NOW, nullable=False),
)
sa.Table(
    "channel_orphan_daily", BASELINE,
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("channel_id", sa.String(64), primary_key=True),
    sa.Column("channel_uuid", sa.Uuid(), nullable=False),
    sa.Column("orphaned_at", TS, nullable=False),
    sa.Column("action", sa.String(20), server_default="detected", nullable=False),
)
sa.Table(
    "channel_statistics_daily", BASELINE,
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("channel_id", sa.String(64), primary_key=True),
    sa.Column("subscriber_count", sa.BigInteger()),
    sa.Column("video_count", sa.BigInteger()),
    sa.Column("view_count", sa.BigInteger()),
)
sa.Table(
    "channel_update_logs", BASELINE,
    sa.Column("id", sa.BigInteger(), primary_key=True),
    sa.Column("channel_uuid", sa.Uuid()),
    sa.Column("channel_id", sa.String(64)),
    sa.Column("update_type", sa.String(20), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("error_message", sa.Text()),
    sa.Column("changes_made", JSONB),
    sa.Column("api_quota_used", sa.Integer(), server_default="0", nullable=False),
    sa.Column("processing_time_ms", sa.Integer()),
    sa.Column("run_id", sa.String(64)),
    sa.Column("actor", sa.String(100)),
    sa.Column("created_at", TS, server_default=NOW, nullable=False),
    sa.Index("channel_update_logs_channel_created_idx", "channel_id", "created_at"),
    sa.Index("channel_update_logs_created_quota_idx", "created_at", "api_quota_used"),
    sa.Index("channel_update_logs_status_created_idx", "status", "created_at"),
    sa.Index("channel_update_logs_type_status_idx", "update_type", "status"),
)
sa.Table(
    "users_user", BASELINE,
    sa.Column("id", sa.BigInteger(), primary_key=True, info=APP),
    sa.Column("username", sa.String(150), nullable=False, unique=True, info=CREATE_ONLY),
    sa.Column("last_login", TS, info=APP),
    sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False, info=APP),
    sa.Column("created_at", TS, server_default=NOW, nullable=False, info=CREATE_ONLY),
    sa.Index("users_user_last_login_idx", "last_login"),
)
sa.Table(
    "videos_channel", BASELINE,
    sa.Column("uuid", sa.Uuid(), primary_key=True, info=APP),
    sa.Column("channel_id", sa.String(64), nullable=False, unique=True, info=APP),
    sa.Column("title", sa.String(500), info=APP),
    sa.Column("description", sa.Text(), info=APP),
    sa.Column("url", sa.String(500), info=APP),
    sa.Column("custom_url", sa.String(200)),
    sa.Column("thumbnail_url", sa.String(500)),
    sa.Column("country", sa.String(8)),
    sa.Column("published_at", TS),
    sa.Column("uploads_playlist_id", sa.String(64)),
    sa.Column("etag", sa.String(100)),
    sa.Column("subscriber_count", sa.BigInteger()),
    sa.Column("hidden_subscriber_count", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    sa.Column("video_count", sa.BigInteger()),
    sa.Column("view_count", sa.BigInteger()),
    sa.Column("last_updated", TS),
    sa.Column("update_frequency", sa.String(20), server_default="weekly", nullable=False),
    sa.Column("frequency_pinned", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    sa.Column("is_priority", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    sa.Column("is_critical", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    sa.Column("next_refresh_at", TS),
    sa.Column("shard", sa.SmallInteger()),
    sa.Column("last_upload_at", TS),
    sa.Column("uploads_checked_at", TS),
    sa.Column("is_available", sa.Boolean(), server_default=sa.text("true"), nullable=False),
    sa.Column("unavailable_reason", sa.String(40)),
    sa.Column("missing_since", TS),
    sa.Column("failed_update_count", sa.Integer(), server_default="0", nullable=False),
    sa.Column("last_error", sa.Text()),
    sa.Column("orphaned_at", TS),
    sa.Column("soft_deleted_at", TS),
    sa.Column("removal_hold_reason", sa.Text()),
    sa.Column("created_at", TS, server_default=NOW, nullable=False, info=APP),
    sa.Column("updated_at", TS, server_default=NOW, nullable=False, info=APP),
    sa.Index("channel_availability_idx", "is_available", "failed_update_count"),
    sa.Index("channel_created_at_idx", "created_at"),
    sa.Index("channel_orphaned_idx", "orphaned_at"),
    sa.Index("channel_shard_due_idx", "shard", "next_refresh_at"),
    sa.Index("channel_soft_deleted_idx", "soft_deleted_at"),
    sa.Index("channel_update_schedule_idx", "last_updated", "update_frequency"),
)
sa.Table(
    "users_userchannel", BASELINE,
    sa.Column("id", sa.BigInteger(), primary_key=True, info=APP),
    sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users_user.id", ondelete="CASCADE"), nullable=False,
              info=APP),
    sa.Column("channel_id", sa.Uuid(), sa.ForeignKey("videos_channel.uuid", ondelete="CASCADE"), nullable=False,
              info=APP),
    sa.Column("subscribed_at", TS, server_default=NOW, nullable=False, info=APP),
    sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False, info=APP),
    sa.Column("created_at", TS, server_default=NOW, nullable=False, info=APP),
    sa.Column("updated_at", TS, server_default=NOW, nullable=False, info=APP),
    sa.UniqueConstraint("user_id", "channel_id", name="users_userchannel_user_channel_uniq"),
    sa.Index("idx_user_channels_user_active", "user_id", "is_active"),
    sa.Index("users_userchannel_channel_active_idx", "channel_id", "is_active"),
    sa.Index("users_userchannel_updated_idx", "updated_at", "id"),
)
sa.Table(
    "videos_video", BASELINE,
    sa.Column("uuid", sa.Uuid(), primary_key=True, info=APP),
    sa.Column("video_id", sa.String(32), nullable=False, info=APP),
    sa.Column("channel_id", sa.Uuid(), sa.ForeignKey("videos_channel.uuid", ondelete="SET NULL"),
              info={"app": True, "drop_not_null": True}),
    sa.Column("title", sa.String(500), info=APP),
    sa.Column("description", sa.Text()),
    sa.Column("published_at", TS),
    sa.Column("duration", sa.Integer()),
    sa.Column("view_count", sa.BigInteger()),
    sa.Column("original_channel_metadata", JSONB),
    sa.Column("channel_title_snapshot", sa.String(500)),
    sa.Column("channel_id_snapshot", sa.String(64)),
    sa.Column("created_at", TS, server_default=NOW, nullable=False, info=APP),
    sa.Column("updated_at", TS, server_default=NOW, nullable=False, info=APP),
    sa.UniqueConstraint("channel_id_snapshot", "video_id", name="videos_video_channel_video_uniq"),
    sa.Index("video_channel_hybrid_idx", "channel_id", "channel_id_snapshot"),
    sa.Index("video_channel_idx", "channel_id"),
    sa.Index("video_channel_snapshot_idx", "channel_id_snapshot"),
    info={"inserts": True},
)
sa.Table(
    "users_uservideo", BASELINE,
    sa.Column("id", sa.BigInteger(), primary_key=True, info=APP),
    sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users_user.id", ondelete="CASCADE"), nullable=False,
              info=APP),
    sa.Column("video_id", sa.Uuid(), sa.ForeignKey("videos_video.uuid", ondelete="CASCADE"), nullable=False,
              info=APP),
    sa.Column("is_watched", sa.Boolean(), server_default=sa.text("false"), nullable=False, info=APP),
    sa.Column("watched_at", TS, info=APP),
    sa.Column("channel_context", JSONB),
    sa.Column("created_at", TS, server_default=NOW, nullable=False, info=APP),
    sa.Column("updated_at", TS, server_default=NOW, nullable=False, info=APP),
    sa.UniqueConstraint("user_id", "video_id", name="users_uservideo_user_video_uniq"),
    sa.Index("users_uservideo_video_idx", "video_id"),
)


def upgrade() -> None:
    adoption.apply(op, BASELINE)


def downgrade() -> None:
    raise NotImplementedError("the baseline is never downgraded: it may hold the gallery app's own tables")
