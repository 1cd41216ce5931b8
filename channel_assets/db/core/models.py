"""The app database: table names default to the gallery app's (seed 000) so the pipeline can attach to it.

Indexes are part of the design: every per-cycle query and every foreign key a delete must check
has a full index behind it (a partial index alone leaves FK checks scanning whole tables).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from channel_assets.db.core.types import UTCDateTime


def _now_default():
    return func.now()


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users_user"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    last_login: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=_now_default())

    __table_args__ = (Index("users_user_last_login_idx", "last_login"),)


class Channel(Base):
    __tablename__ = "videos_channel"

    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    channel_id: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))
    custom_url: Mapped[str | None] = mapped_column(String(200))
    thumbnail_url: Mapped[str | None] = mapped_column(String(500))
    country: Mapped[str | None] = mapped_column(String(8))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    uploads_playlist_id: Mapped[str | None] = mapped_column(String(64))
    etag: Mapped[str | None] = mapped_column(String(100))

    subscriber_count: Mapped[int | None] = mapped_column(BigInteger)
    hidden_subscriber_count: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    video_count: Mapped[int | None] = mapped_column(BigInteger)
    view_count: Mapped[int | None] = mapped_column(BigInteger)

    # Refresh scheduling: the tier, and the moment the channel is next due (NULL = never fetched).
    last_updated: Mapped[datetime | None] = mapped_column(UTCDateTime)
    update_frequency: Mapped[str] = mapped_column(String(20), default="weekly", server_default="weekly")
    frequency_pinned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    is_priority: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    is_critical: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    next_refresh_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shard: Mapped[int | None] = mapped_column(SmallInteger)
    last_upload_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    uploads_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Availability: a missing id is only believed on a second pass (missing_since set on the first).
    is_available: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    unavailable_reason: Mapped[str | None] = mapped_column(String(40))
    missing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_update_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)

    # Cleanup lifecycle.
    orphaned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    soft_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removal_hold_reason: Mapped[str | None] = mapped_column(Text)
    # The updated_at of the pipeline's last write of the row (revision 0008): a different updated_at means
    # the app saved the row since (see channel_written).
    pipeline_written_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=_now_default())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=_now_default())

    __table_args__ = (
        Index("channel_shard_due_idx", "shard", "next_refresh_at"),
        Index("channel_update_schedule_idx", "last_updated", "update_frequency"),
        Index("channel_availability_idx", "is_available", "failed_update_count"),
        Index("channel_orphaned_idx", "orphaned_at"),
        Index("channel_soft_deleted_idx", "soft_deleted_at"),
        Index("channel_created_at_idx", "created_at"),
    )


def channel_written(now: datetime) -> dict[str, datetime]:
    """What every pipeline write of a channel row sets besides its own columns: updated_at, and the same
    moment in pipeline_written_at. A Django save() of a stale copy writes an updated_at of its own, so the
    two then differ and the refresh notices (db.refresh.tiering)."""
    return {"updated_at": now, "pipeline_written_at": now}


class UserChannel(Base):
    __tablename__ = "users_userchannel"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users_user.id", ondelete="CASCADE"))
    channel_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("videos_channel.uuid", ondelete="CASCADE"))
    subscribed_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=_now_default())
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=_now_default())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=_now_default())

    __table_args__ = (
        UniqueConstraint("user_id", "channel_id", name="users_userchannel_user_channel_uniq"),
        # Full index led by channel_id: "active subscriptions of a channel" and the FK check of deletes.
        Index("users_userchannel_channel_active_idx", "channel_id", "is_active"),
        Index("idx_user_channels_user_active", "user_id", "is_active"),
        # The subscription sensor's cursor.
        Index("users_userchannel_updated_idx", "updated_at", "id"),
    )


class Video(Base):
    __tablename__ = "videos_video"

    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    video_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("videos_channel.uuid", ondelete="SET NULL"), nullable=True
    )
    title: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration: Mapped[int | None] = mapped_column(Integer)
    view_count: Mapped[int | None] = mapped_column(BigInteger)
    original_channel_metadata: Mapped[dict | None] = mapped_column(JSONB)
    channel_title_snapshot: Mapped[str | None] = mapped_column(String(500))
    # The YouTube channel id, set on import and kept after removal: the key for re-linking.
    channel_id_snapshot: Mapped[str | None] = mapped_column(String(64))
    # The video metadata refresh (revision 0010): YouTube's values, none of them indexed, so a refresh
    # that rewrites them is a HOT update (fillfactor 80, revision 0010, leaves room for a new row version on the page).
    like_count: Mapped[int | None] = mapped_column(BigInteger)
    comment_count: Mapped[int | None] = mapped_column(BigInteger)
    tags: Mapped[list | None] = mapped_column(JSONB)
    thumbnail_url: Mapped[str | None] = mapped_column(String(500))
    privacy_status: Mapped[str | None] = mapped_column(String(20))
    upload_status: Mapped[str | None] = mapped_column(String(20))
    embeddable: Mapped[bool | None] = mapped_column(Boolean)
    region_restriction: Mapped[dict | None] = mapped_column(JSONB)
    unavailable_reason: Mapped[str | None] = mapped_column(String(20))  # deleted, private, rejected, failed, …
    unavailable_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unavailable_suspected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # one pass said so
    metadata_refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last write of new values
    metadata_refresh_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # refresh next run
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=_now_default())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=_now_default())

    __table_args__ = (
        UniqueConstraint("channel_id_snapshot", "video_id", name="videos_video_channel_video_uniq"),
        # Requested refreshes: the marker changes only on requested rows, so the rest stay HOT; partial
        # (revision 0013), so a non-HOT update of an unrequested row adds no entry to it.
        Index("video_refresh_requested_partial_idx", "metadata_refresh_requested_at",
              postgresql_where=text("metadata_refresh_requested_at IS NOT NULL")),
        # Requests look videos up by id, uploads find stored videos by (channel link, id): the app's imports
        # have no channel_id_snapshot. One index serves both (revision 0014, in place of 0003's and 0011's).
        Index("video_video_channel_idx", "video_id", "channel_id"),
        Index("video_channel_idx", "channel_id"),
        Index("video_channel_snapshot_idx", "channel_id_snapshot"),
        Index("video_channel_hybrid_idx", "channel_id", "channel_id_snapshot"),
    )


class UserVideo(Base):
    __tablename__ = "users_uservideo"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users_user.id", ondelete="CASCADE"))
    video_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("videos_video.uuid", ondelete="CASCADE"))
    is_watched: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    watched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channel_context: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=_now_default())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=_now_default())

    __table_args__ = (
        UniqueConstraint("user_id", "video_id", name="users_uservideo_user_video_uniq"),
        Index("users_uservideo_video_idx", "video_id"),
        # Video tiers: "watched by any user in the last 30 days" (revision 0010).
        Index("users_uservideo_watched_idx", "watched_at"),
    )
    # PostgreSQL: fillfactor 80 (migration 0002) so the cleanup's channel_context update stays HOT.
    # Not declared here: SQLAlchemy's Table has no storage-parameter option (only Index has
    # postgresql_with), and the schema is only ever built by the migrations.


class ChannelUpdateLog(Base):
    """Audit log of updates, errors, removals and restores; deliberately no FK so it outlives the channel."""

    __tablename__ = "channel_update_logs"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    channel_uuid: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    channel_id: Mapped[str | None] = mapped_column(String(64))
    update_type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))
    error_message: Mapped[str | None] = mapped_column(Text)
    error_type: Mapped[str | None] = mapped_column(String(20))  # see refresh.error_types (revision 0005)
    changes_made: Mapped[dict | None] = mapped_column(JSONB)
    api_quota_used: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    processing_time_ms: Mapped[int | None] = mapped_column(Integer)
    run_id: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=_now_default())

    __table_args__ = (
        Index("channel_update_logs_channel_created_idx", "channel_id", "created_at"),
        Index("channel_update_logs_type_status_idx", "update_type", "status"),
        Index("channel_update_logs_status_created_idx", "status", "created_at"),
        Index("channel_update_logs_created_quota_idx", "created_at", "api_quota_used"),
    )


class ApiQuotaLedger(Base):
    """Units reserved (before each call) and settled per America/Los_Angeles day, one row per day."""

    __tablename__ = "api_quota_ledger"

    quota_day: Mapped[date] = mapped_column(Date, primary_key=True)
    units_reserved: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    units_used: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Of those, the units spent on the app's user requests (revision 0009): their own cap, same statement.
    user_request_units: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    exhausted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=_now_default())
    video_units: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # of units_reserved


class VideoRefreshSchedule(Base):
    """When each video was last refreshed and is next due: the pipeline's own narrow table, so the index the
    due selection needs is rewritten here and never on videos_video (whose updates then stay HOT).
    No foreign key: a video the app deletes leaves a row the selection's join skips."""

    __tablename__ = "video_refresh_schedule"

    video_uuid: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger)  # hashtext(video_id) & 15
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("video_refresh_schedule_due_idx", "shard", "due_at"),)


class ChannelStatisticsDaily(Base):
    __tablename__ = "channel_statistics_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subscriber_count: Mapped[int | None] = mapped_column(BigInteger)
    video_count: Mapped[int | None] = mapped_column(BigInteger)
    view_count: Mapped[int | None] = mapped_column(BigInteger)


class ChannelOrphanDaily(Base):
    """The orphan set of one cleanup day, so the UI's daily partitions have rows behind them."""

    __tablename__ = "channel_orphan_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel_uuid: Mapped[uuid.UUID] = mapped_column(Uuid)
    orphaned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(20), default="detected", server_default="detected")


class AlertState(Base):
    """Alerts: whether a condition is failing, since when, and when a human last heard of it."""

    __tablename__ = "alert_states"

    condition: Mapped[str] = mapped_column(String(200), primary_key=True)
    failing: Mapped[bool] = mapped_column(Boolean)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    title: Mapped[str] = mapped_column(Text)


class AlertOutbox(Base):
    """Alerts: one row per message and channel, kept until sent, so a receiver that is down loses nothing."""

    __tablename__ = "alert_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(300))
    channel: Mapped[str] = mapped_column(String(20))
    condition: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(20))

    __table_args__ = (
        UniqueConstraint("dedup_key", "channel", name="alert_outbox_key_channel_uniq"),
        Index("alert_outbox_pending_idx", "done_at", "id"),
    )


class ChannelPipelineRequest(Base):
    """The gallery app's requests to the pipeline (revision 0009): a refresh of some channels, a refresh of
    some videos (revision 0011), a cleanup or a cleanup dry run, queued -> running -> done | failed, or refused
    at once with a one-line reason."""

    __tablename__ = "channel_pipeline_requests"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    channel_ids: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    video_ids: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    requested_by: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    status: Mapped[str] = mapped_column(Text, default="queued", server_default="queued")
    status_reason: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=_now_default())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("kind IN ('refresh', 'cleanup', 'cleanup_dry_run', 'video_refresh')",
                        name="channel_pipeline_requests_kind_check"),
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed', 'refused')",
                        name="channel_pipeline_requests_status_check"),
        Index("channel_pipeline_requests_pending_idx", "id", postgresql_where=text("status IN ('queued', 'running')")),
        Index("channel_pipeline_requests_user_idx", "user_id", "created_at",
              postgresql_where=text("user_id IS NOT NULL")),
    )
