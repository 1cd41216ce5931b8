"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import channel_assets.db.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_quota_ledger",
        sa.Column("quota_day", sa.Date(), nullable=False),
        sa.Column("units_reserved", sa.Integer(), server_default="0", nullable=False),
        sa.Column("units_used", sa.Integer(), server_default="0", nullable=False),
        sa.Column("exhausted_at", channel_assets.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            channel_assets.db.types.UTCDateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("quota_day"),
    )
    op.create_table(
        "channel_orphan_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("channel_uuid", sa.Uuid(), nullable=False),
        sa.Column("orphaned_at", channel_assets.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=20), server_default="detected", nullable=False),
        sa.PrimaryKeyConstraint("day", "channel_id"),
    )
    op.create_table(
        "channel_statistics_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("subscriber_count", sa.BigInteger(), nullable=True),
        sa.Column("video_count", sa.BigInteger(), nullable=True),
        sa.Column("view_count", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("day", "channel_id"),
    )
    op.create_table(
        "channel_update_logs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel_uuid", sa.Uuid(), nullable=True),
        sa.Column("channel_id", sa.String(length=64), nullable=True),
        sa.Column("update_type", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column(
            "changes_made",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("api_quota_used", sa.Integer(), server_default="0", nullable=False),
        sa.Column("processing_time_ms", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column(
            "created_at",
            channel_assets.db.types.UTCDateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("channel_update_logs", schema=None) as batch_op:
        batch_op.create_index(
            "channel_update_logs_channel_created_idx", ["channel_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "channel_update_logs_created_quota_idx", ["created_at", "api_quota_used"], unique=False
        )
        batch_op.create_index(
            "channel_update_logs_status_created_idx", ["status", "created_at"], unique=False
        )
        batch_op.create_index("channel_update_logs_type_status_idx", ["update_type", "status"], unique=False)

    op.create_table(
        "users_user",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("username", sa.String(length=150), nullable=False),
        sa.Column("last_login", channel_assets.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("(true)"), nullable=False),
        sa.Column(
            "created_at",
            channel_assets.db.types.UTCDateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    with op.batch_alter_table("users_user", schema=None) as batch_op:
        batch_op.create_index("users_user_last_login_idx", ["last_login"], unique=False)

    op.create_table(
        "videos_channel",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("custom_url", sa.String(length=200), nullable=True),
        sa.Column("thumbnail_url", sa.String(length=500), nullable=True),
        sa.Column("country", sa.String(length=8), nullable=True),
        sa.Column("published_at", channel_assets.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("uploads_playlist_id", sa.String(length=64), nullable=True),
        sa.Column("etag", sa.String(length=100), nullable=True),
        sa.Column("subscriber_count", sa.BigInteger(), nullable=True),
        sa.Column("hidden_subscriber_count", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column("video_count", sa.BigInteger(), nullable=True),
        sa.Column("view_count", sa.BigInteger(), nullable=True),
        sa.Column("last_updated", channel_assets.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("update_frequency", sa.String(length=20), server_default="weekly", nullable=False),
        sa.Column("frequency_pinned", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column("is_priority", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column("is_critical", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column("next_refresh_at", channel_assets.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("shard", sa.SmallInteger(), nullable=True),
        sa.Column("last_upload_at", channel_assets.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("uploads_checked_at", channel_assets.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("is_available", sa.Boolean(), server_default=sa.text("(true)"), nullable=False),
        sa.Column("unavailable_reason", sa.String(length=40), nullable=True),
        sa.Column("missing_since", channel_assets.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failed_update_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("orphaned_at", channel_assets.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("soft_deleted_at", channel_assets.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("removal_hold_reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            channel_assets.db.types.UTCDateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            channel_assets.db.types.UTCDateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("uuid"),
        sa.UniqueConstraint("channel_id"),
    )
    with op.batch_alter_table("videos_channel", schema=None) as batch_op:
        batch_op.create_index(
            "channel_availability_idx", ["is_available", "failed_update_count"], unique=False
        )
        batch_op.create_index("channel_created_at_idx", ["created_at"], unique=False)
        batch_op.create_index("channel_orphaned_idx", ["orphaned_at"], unique=False)
        batch_op.create_index("channel_shard_due_idx", ["shard", "next_refresh_at"], unique=False)
        batch_op.create_index("channel_soft_deleted_idx", ["soft_deleted_at"], unique=False)
        batch_op.create_index(
            "channel_update_schedule_idx", ["last_updated", "update_frequency"], unique=False
        )

    op.create_table(
        "users_userchannel",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel_id", sa.Uuid(), nullable=False),
        sa.Column(
            "subscribed_at",
            channel_assets.db.types.UTCDateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("(true)"), nullable=False),
        sa.Column(
            "created_at",
            channel_assets.db.types.UTCDateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            channel_assets.db.types.UTCDateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["channel_id"], ["videos_channel.uuid"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "channel_id", name="users_userchannel_user_channel_uniq"),
    )
    with op.batch_alter_table("users_userchannel", schema=None) as batch_op:
        batch_op.create_index("idx_user_channels_user_active", ["user_id", "is_active"], unique=False)
        batch_op.create_index(
            "users_userchannel_channel_active_idx", ["channel_id", "is_active"], unique=False
        )
        batch_op.create_index("users_userchannel_updated_idx", ["updated_at", "id"], unique=False)

    op.create_table(
        "videos_video",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("video_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("published_at", channel_assets.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("view_count", sa.BigInteger(), nullable=True),
        sa.Column(
            "original_channel_metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("channel_title_snapshot", sa.String(length=500), nullable=True),
        sa.Column("channel_id_snapshot", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            channel_assets.db.types.UTCDateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            channel_assets.db.types.UTCDateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["channel_id"], ["videos_channel.uuid"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("uuid"),
        sa.UniqueConstraint("channel_id_snapshot", "video_id", name="videos_video_channel_video_uniq"),
    )
    with op.batch_alter_table("videos_video", schema=None) as batch_op:
        batch_op.create_index("video_channel_hybrid_idx", ["channel_id", "channel_id_snapshot"], unique=False)
        batch_op.create_index("video_channel_idx", ["channel_id"], unique=False)
        batch_op.create_index("video_channel_snapshot_idx", ["channel_id_snapshot"], unique=False)

    op.create_table(
        "users_uservideo",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("video_id", sa.Uuid(), nullable=False),
        sa.Column("is_watched", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column("watched_at", channel_assets.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "channel_context",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            channel_assets.db.types.UTCDateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            channel_assets.db.types.UTCDateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users_user.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["video_id"], ["videos_video.uuid"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "video_id", name="users_uservideo_user_video_uniq"),
    )
    with op.batch_alter_table("users_uservideo", schema=None) as batch_op:
        batch_op.create_index("users_uservideo_video_idx", ["video_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("users_uservideo", schema=None) as batch_op:
        batch_op.drop_index("users_uservideo_video_idx")

    op.drop_table("users_uservideo")
    with op.batch_alter_table("videos_video", schema=None) as batch_op:
        batch_op.drop_index("video_channel_snapshot_idx")
        batch_op.drop_index("video_channel_idx")
        batch_op.drop_index("video_channel_hybrid_idx")

    op.drop_table("videos_video")
    with op.batch_alter_table("users_userchannel", schema=None) as batch_op:
        batch_op.drop_index("users_userchannel_updated_idx")
        batch_op.drop_index("users_userchannel_channel_active_idx")
        batch_op.drop_index("idx_user_channels_user_active")

    op.drop_table("users_userchannel")
    with op.batch_alter_table("videos_channel", schema=None) as batch_op:
        batch_op.drop_index("channel_update_schedule_idx")
        batch_op.drop_index("channel_soft_deleted_idx")
        batch_op.drop_index("channel_shard_due_idx")
        batch_op.drop_index("channel_orphaned_idx")
        batch_op.drop_index("channel_created_at_idx")
        batch_op.drop_index("channel_availability_idx")

    op.drop_table("videos_channel")
    with op.batch_alter_table("users_user", schema=None) as batch_op:
        batch_op.drop_index("users_user_last_login_idx")

    op.drop_table("users_user")
    with op.batch_alter_table("channel_update_logs", schema=None) as batch_op:
        batch_op.drop_index("channel_update_logs_type_status_idx")
        batch_op.drop_index("channel_update_logs_status_created_idx")
        batch_op.drop_index("channel_update_logs_created_quota_idx")
        batch_op.drop_index("channel_update_logs_channel_created_idx")

    op.drop_table("channel_update_logs")
    op.drop_table("channel_statistics_daily")
    op.drop_table("channel_orphan_daily")
    op.drop_table("api_quota_ledger")
