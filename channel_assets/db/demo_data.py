"""The demo's reads and writes: its population, what the gallery app would write during the demo, the totals."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, insert, select, update

from channel_assets.db.cleanup.followed import has_active_subscription
from channel_assets.db.core.batching import chunks
from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import Channel, ChannelUpdateLog, User, UserChannel, UserVideo, Video
from channel_assets.db.core.sharding import shard_of

CHUNK = 5_000
TABLES = ((User, "users"), (Channel, "channels"), (UserChannel, "subscriptions"), (Video, "videos"),
          (UserVideo, "watch"))


class DatabaseNotEmptyError(RuntimeError):
    """The demo would overwrite data that is not its own."""


def check_demo_target(engine: Engine, replace: bool) -> None:
    """Refuse the gallery app's own database always, and a non-empty one unless `replace`."""
    with engine.connect() as conn:
        if conn.dialect.has_table(conn, "django_migrations"):  # --force would empty the app's own tables
            raise DatabaseNotEmptyError("this is the gallery app's own database (Django made it): the demo never "
                                        "writes there, not even with --force")
        existing = conn.execute(select(func.count()).select_from(Channel)).scalar_one()
    if existing and not replace:
        raise DatabaseNotEmptyError(
            f"the database already holds {existing} channels; pass --force to replace the demo data"
        )


def insert_population(engine: Engine, rows: dict[str, list[dict]], *, replace: bool) -> int:
    """Insert the rows (per table key of TABLES) in one transaction; returns how many channels are orphans."""
    with transaction(engine) as conn:
        if replace:
            for model, _ in reversed(TABLES):
                conn.execute(model.__table__.delete())
        for model, key in TABLES:
            for chunk in chunks(rows[key], CHUNK):
                conn.execute(insert(model), list(chunk))
        return conn.execute(
            select(func.count()).select_from(Channel).where(~has_active_subscription())
        ).scalar_one()


def demo_totals(engine: Engine) -> dict[str, int]:
    def count(model, *where) -> int:
        return conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one()

    with engine.connect() as conn:
        return {
            "channels": count(Channel),
            "available": count(Channel, Channel.is_available.is_(True)),
            "fetched": count(Channel, Channel.last_updated.is_not(None)),
            "videos": count(Video),
            "watch_rows": count(UserVideo),
            "soft_deleted": count(Channel, Channel.soft_deleted_at.is_not(None)),
            "held": count(Channel, Channel.removal_hold_reason.is_not(None)),
        }


def latest_pipeline_writes(engine: Engine) -> list[datetime]:
    """The latest refresh and soft delete stamped in the database (empty when there are none)."""
    with engine.connect() as conn:
        latest = conn.execute(select(func.max(Channel.last_updated), func.max(Channel.soft_deleted_at))).one()
    return [t for t in latest if t]


def unsubscribe_fraction(engine: Engine, fraction: float, rng: random.Random, now: datetime) -> int:
    """Users unsubscribe, as the gallery app writes it: is_active false, updated_at now."""
    with transaction(engine) as conn:
        ids = conn.execute(select(UserChannel.id).where(UserChannel.is_active.is_(True))
                           .order_by(UserChannel.id)).scalars().all()
        chosen = rng.sample(list(ids), max(1, int(len(ids) * fraction)))
        conn.execute(update(UserChannel).where(UserChannel.id.in_(chosen)).values(is_active=False, updated_at=now))
    return len(chosen)


@dataclass(frozen=True)
class Refollow:
    channel_id: str
    channel_uuid: uuid.UUID
    user_id: int

    def relinked(self, engine: Engine) -> tuple[int, int]:
        """(videos now linked to the re-created channel, the follower's watch rows on them)."""
        with engine.connect() as conn:
            videos = conn.execute(select(func.count()).select_from(Video)
                                  .where(Video.channel_id == self.channel_uuid)).scalar_one()
            history = conn.execute(
                select(func.count()).select_from(UserVideo).join(Video, Video.uuid == UserVideo.video_id)
                .where(Video.channel_id == self.channel_uuid, UserVideo.user_id == self.user_id)
            ).scalar_one()
        return videos, history


def resubscribe_to_most_preserved(engine: Engine, now: datetime) -> Refollow | None:
    """A user who watched the hard-deleted channel with most preserved videos follows it again: the app
    re-creates the channel row and the subscription. None when nothing was hard-deleted."""
    with engine.connect() as conn:
        row = conn.execute(
            select(Video.channel_id_snapshot, func.count())
            .where(Video.channel_id.is_(None), Video.original_channel_metadata.is_not(None))
            .group_by(Video.channel_id_snapshot).order_by(func.count().desc(), Video.channel_id_snapshot)
            .limit(1)
        ).first()
        if row is None:
            return None
        youtube_id = row[0]
        viewer = conn.execute(
            select(UserVideo.user_id).join(Video, Video.uuid == UserVideo.video_id)
            .where(Video.channel_id_snapshot == youtube_id).limit(1)
        ).scalar() or 1
    with transaction(engine) as conn:
        channel_uuid = conn.execute(
            insert(Channel).values(channel_id=youtube_id, shard=shard_of(youtube_id), created_at=now,
                                   updated_at=now).returning(Channel.uuid)
        ).scalar_one()
        conn.execute(insert(UserChannel).values(user_id=viewer, channel_id=channel_uuid, is_active=True,
                                                subscribed_at=now, updated_at=now))
    return Refollow(youtube_id, channel_uuid, viewer)


def changes_since(engine: Engine, since: datetime) -> dict[str, int]:
    """Update-log rows since `since`, counted per "type/status"."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(ChannelUpdateLog.update_type, ChannelUpdateLog.status, func.count())
            .where(ChannelUpdateLog.created_at >= since)
            .group_by(ChannelUpdateLog.update_type, ChannelUpdateLog.status)
        ).all()
    return {f"{t}/{s}": n for t, s, n in rows}
