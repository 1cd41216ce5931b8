"""A channel's recent update-log rows, newest first (served by channel_update_logs_channel_created_idx)."""

from __future__ import annotations

from sqlalchemy import Engine, select

from channel_assets.db.core.models import Channel, ChannelUpdateLog


def channel_history(engine: Engine, channel_id: str, limit: int) -> list:
    """Rows with created_at, update_type, status, changes_made, error_type, error_message, actor, run_id."""
    log = ChannelUpdateLog.__table__.c
    with engine.connect() as conn:
        return conn.execute(
            select(log.created_at, log.update_type, log.status, log.changes_made, log.error_type,
                   log.error_message, log.actor, log.run_id)
            .where(log.channel_id == channel_id)
            .order_by(log.created_at.desc(), log.id.desc()).limit(limit)).all()


def channel_exists(engine: Engine, channel_id: str) -> bool:
    """Whether videos_channel holds the channel now (a hard-deleted one is gone, its log rows stay)."""
    with engine.connect() as conn:
        return conn.execute(select(Channel.uuid).where(Channel.channel_id == channel_id)).first() is not None
