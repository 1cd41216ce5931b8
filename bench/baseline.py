"""Seed-style comparators (seed 000), implemented faithfully with SQLAlchemy ORM, for ratios only.

- ``seed_refresh``: ``ChannelUpdateService.update_channel`` per channel, serially: one
  ``channels.list`` call with ONE id, the ORM row loaded, changed attributes set, ``channel.save()``
  (a commit per channel), one update-log row saved per channel.
- ``seed_cleanup``: ``WatchHistoryPreservationService.cleanup_channel_safely`` per orphan, in its own
  transaction: impact analysis (counts, distinct users, the "orphaned videos" NOT EXISTS on
  ``video_id``), safety rules, snapshot dict, ``video.save()`` per video, ``user_video.save()`` per
  watch row, subscriptions deleted, ``channel.delete()``, one log row.

Neither is part of the product; they are the "before" figure of MISSION.md's quality bars.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine, exists, func, select
from sqlalchemy.orm import Session, aliased

from channel_assets.db.core.models import Channel, ChannelUpdateLog, UserChannel, UserVideo, Video
from channel_assets.youtube import YouTubeClient, YouTubeError

SEED_FIELDS = ("title", "description", "custom_url", "thumbnail_url", "country", "published_at",
               "uploads_playlist_id", "subscriber_count", "hidden_subscriber_count", "video_count", "view_count")


def seed_refresh(engine: Engine, client: YouTubeClient, channel_ids: Sequence[str]) -> dict:
    """Serial, one call and one commit per channel. Returns counts and seconds."""
    calls = changed = gone = failed = 0
    t0 = time.perf_counter()
    with Session(engine, expire_on_commit=True) as session:
        for cid in channel_ids:
            channel = session.scalars(select(Channel).where(Channel.channel_id == cid)).one()
            try:
                batch = client.list_channels([cid])
                calls += 1
            except YouTubeError as exc:
                channel.failed_update_count += 1
                session.commit()
                session.add(ChannelUpdateLog(channel_uuid=channel.uuid, channel_id=cid, update_type="error",
                                             status="failed", error_message=str(exc)[:200], api_quota_used=1))
                session.commit()
                failed += 1
                continue
            record = batch.found.get(cid)
            now = datetime.now(UTC)
            if record is None:
                channel.is_available = False
                channel.failed_update_count += 1
                session.commit()
                session.add(ChannelUpdateLog(channel_uuid=channel.uuid, channel_id=cid, update_type="error",
                                             status="failed", error_message="channel_not_found", api_quota_used=1))
                session.commit()
                gone += 1
                continue
            changes = {}
            for name in SEED_FIELDS:
                new = getattr(record, name)
                old = getattr(channel, name)
                if old != new:
                    changes[name] = {"old": str(old) if old is not None else None,
                                     "new": str(new) if new is not None else None}
                    setattr(channel, name, new)
            channel.last_updated = now
            channel.etag = record.etag
            session.commit()  # channel.save()
            if changes:
                changed += 1
            session.add(ChannelUpdateLog(channel_uuid=channel.uuid, channel_id=cid, update_type="metadata",
                                         status="success", changes_made=changes, api_quota_used=1))
            session.commit()  # log_service.log_update(...)
    wall = time.perf_counter() - t0
    n = len(channel_ids)
    return {"channels": n, "calls": calls, "changed": changed, "gone": gone, "failed": failed,
            "wall_s": round(wall, 3), "channels_per_s": round(n / wall, 2) if wall else 0.0}


class SeedLimits:
    watch = 10_000
    users = 1_000
    videos = 100


def _analyze(session: Session, channel: Channel, orphan_query: bool) -> dict:
    video_count = session.scalar(select(func.count()).select_from(Video).where(Video.channel_id == channel.uuid))
    watched = select(UserVideo).join(Video, UserVideo.video_id == Video.uuid).where(Video.channel_id == channel.uuid)
    watch_count = session.scalar(select(func.count()).select_from(watched.subquery()))
    users = session.scalar(select(func.count(func.distinct(UserVideo.user_id)))
                           .join(Video, UserVideo.video_id == Video.uuid).where(Video.channel_id == channel.uuid))
    if orphan_query:
        other = aliased(Video)
        orphaned = session.scalar(
            select(func.count()).select_from(Video).where(
                Video.channel_id == channel.uuid,
                ~exists().where(other.video_id == Video.video_id,
                                (other.channel_id != channel.uuid) | other.channel_id.is_(None))))
    else:
        orphaned = video_count
    return {"channel_uuid": str(channel.uuid), "channel_title": channel.title, "total_videos": video_count,
            "orphaned_videos": orphaned, "watch_history_entries": watch_count, "unique_users_affected": users,
            "analysis_timestamp": datetime.now(UTC).isoformat()}


def seed_cleanup(engine: Engine, channel_uuids: Sequence[uuid.UUID], orphan_query: bool = True) -> dict:
    """The per-row loop of WatchHistoryPreservationService, one transaction per channel."""
    removed = held = videos = watch = 0
    t0 = time.perf_counter()
    with Session(engine) as session:
        for cu in channel_uuids:
            channel = session.get(Channel, cu)
            impact = _analyze(session, channel, orphan_query)
            if not (impact["watch_history_entries"] < SeedLimits.watch
                    and impact["unique_users_affected"] < SeedLimits.users
                    and impact["orphaned_videos"] < SeedLimits.videos):
                session.rollback()
                held += 1
                continue
            snapshot = {
                "channel_uuid": str(channel.uuid), "channel_id": channel.channel_id, "title": channel.title,
                "description": channel.description, "url": channel.url, "subscriber_count": channel.subscriber_count,
                "last_updated": channel.last_updated.isoformat() if channel.last_updated else None,
                "snapshot_created_at": datetime.now(UTC).isoformat(), "cleanup_reason": "orphaned_channel_removal",
            }
            for video in session.scalars(select(Video).where(Video.channel_id == channel.uuid)):
                video.original_channel_metadata = snapshot
                video.channel_title_snapshot = channel.title
                video.channel_id_snapshot = channel.channel_id
                session.flush()  # video.save()
                videos += 1
            rows = session.scalars(select(UserVideo).join(Video, UserVideo.video_id == Video.uuid)
                                   .where(Video.channel_id == channel.uuid))
            for user_video in rows:
                user_video.channel_context = snapshot
                session.flush()  # user_video.save()
                watch += 1
            session.query(UserChannel).filter(UserChannel.channel_id == channel.uuid).count()
            session.query(UserChannel).filter(UserChannel.channel_id == channel.uuid).delete()
            session.delete(channel)
            session.flush()  # channel.delete(); the FK sets videos_video.channel_id NULL
            session.add(ChannelUpdateLog(channel_uuid=cu, channel_id=snapshot["channel_id"], update_type="removal",
                                         status="success", api_quota_used=0,
                                         changes_made={"cleanup_strategy": "watch_history_preservation",
                                                       "impact_analysis": impact, "channel_snapshot": snapshot}))
            session.commit()
            removed += 1
    wall = time.perf_counter() - t0
    n = len(channel_uuids)
    return {"channels": n, "removed": removed, "held": held, "videos": videos, "watch_rows": watch,
            "wall_s": round(wall, 3), "channels_per_s": round(n / wall, 2) if wall else 0.0,
            "orphan_query": orphan_query}
