"""Daily statistics snapshot: one idempotent DELETE + INSERT … SELECT per day (re-materializing replaces it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Date, Engine, delete, func, insert, literal, select

from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import Channel, ChannelStatisticsDaily


@dataclass
class StatisticsSummary:
    day: date
    channels: int = 0
    subscribers: int = 0
    videos: int = 0
    views: int = 0
    movers: list[tuple] = field(default_factory=list)  # (channel_id, title, previous subs, subs, delta)


def snapshot_statistics(engine: Engine, day: date, movers: int = 10) -> StatisticsSummary:
    """Copy the counts of every available, fetched channel into the day's rows; totals and top movers."""
    c = Channel.__table__.c
    s = ChannelStatisticsDaily.__table__
    source = select(literal(day, Date()), c.channel_id, c.subscriber_count, c.video_count, c.view_count).where(
        c.is_available.is_(True), c.soft_deleted_at.is_(None), c.last_updated.is_not(None))
    summary = StatisticsSummary(day)
    with transaction(engine) as conn:
        conn.execute(delete(s).where(s.c.day == day))
        conn.execute(insert(s).from_select(["day", "channel_id", "subscriber_count", "video_count", "view_count"],
                                           source))
        totals = conn.execute(select(func.count(), func.coalesce(func.sum(s.c.subscriber_count), 0),
                                     func.coalesce(func.sum(s.c.video_count), 0),
                                     func.coalesce(func.sum(s.c.view_count), 0)).where(s.c.day == day)).one()
        prev = s.alias("prev")
        delta = (s.c.subscriber_count - prev.c.subscriber_count).label("delta")
        rows = conn.execute(
            select(s.c.channel_id, c.title, prev.c.subscriber_count, s.c.subscriber_count, delta)
            .join(prev, (prev.c.channel_id == s.c.channel_id) & (prev.c.day == day - timedelta(days=1)))
            .join(Channel.__table__, c.channel_id == s.c.channel_id)
            .where(s.c.day == day, delta != 0)
            .order_by(func.abs(delta).desc(), s.c.channel_id).limit(movers)
        ).all()
    summary.channels, summary.subscribers, summary.videos, summary.views = (int(v) for v in totals)
    summary.movers = [tuple(r) for r in rows]
    return summary
