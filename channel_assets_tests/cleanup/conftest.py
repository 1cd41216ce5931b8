"""Crafted populations for the cleanup tests: small, explicit, on both backends."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from channel_assets.db.cleanup.safety import Limits
from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import Channel, User, UserChannel, UserVideo, Video

NOW = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
LIMITS = Limits(max_watch_rows=10_000, max_users=1_000, max_videos=100)
_seq = itertools.count()


def yt_id(n: int) -> str:
    return "UC" + f"{n:022d}"


class World:
    """Builds rows with one INSERT per call and answers the counting questions the tests ask."""

    def __init__(self, engine):
        self.engine = engine
        self.users = 0

    def add_users(self, n: int) -> list[int]:
        ids = list(range(self.users + 1, self.users + n + 1))
        self.users += n
        with transaction(self.engine) as conn:
            conn.execute(sa.insert(User), [{"id": i, "username": f"u{i}"} for i in ids])
        return ids

    def add_channel(self, *, active: Sequence_ = (), inactive: Sequence_ = (), videos: int = 0,
                    watchers: Sequence_ = (), title: str | None = None, **fields) -> Channel:
        n = next(_seq)
        cu = uuid.uuid4()
        cid = fields.pop("channel_id", yt_id(n))
        row = {"uuid": cu, "channel_id": cid, "title": title or f"Channel {n}", "description": f"about {n}",
               "url": f"https://www.youtube.com/channel/{cid}", "subscriber_count": 10 * n, "video_count": videos,
               "view_count": 100 * n, "last_updated": NOW, **fields}
        vids = [{"uuid": uuid.uuid4(), "video_id": f"v{n}_{k}", "channel_id": cu, "channel_id_snapshot": cid,
                 "title": f"video {k}"} for k in range(videos)]
        with transaction(self.engine) as conn:
            conn.execute(sa.insert(Channel), [row])
            subs = [{"user_id": u, "channel_id": cu, "is_active": True, "updated_at": NOW} for u in active]
            subs += [{"user_id": u, "channel_id": cu, "is_active": False, "updated_at": NOW} for u in inactive]
            if subs:
                conn.execute(sa.insert(UserChannel), subs)
            if vids:
                conn.execute(sa.insert(Video), vids)
                watch = [{"user_id": u, "video_id": v["uuid"], "is_watched": True} for v in vids for u in watchers]
                if watch:
                    conn.execute(sa.insert(UserVideo), watch)
        return self.channel(cid)

    def channel(self, channel_id: str):
        with self.engine.connect() as conn:
            return conn.execute(sa.select(*Channel.__table__.c).where(Channel.channel_id == channel_id)).first()

    def count(self, model, *where) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one()

    def set_channel(self, channel_id: str, **values) -> None:
        with transaction(self.engine) as conn:
            conn.execute(sa.update(Channel).where(Channel.channel_id == channel_id).values(**values))

    def subscribe(self, user_id: int, channel_uuid, active: bool = True, at: datetime = NOW) -> None:
        with transaction(self.engine) as conn:
            updated = conn.execute(
                sa.update(UserChannel)
                .where(UserChannel.user_id == user_id, UserChannel.channel_id == channel_uuid)
                .values(is_active=active, updated_at=at)
            ).rowcount
            if not updated:
                conn.execute(sa.insert(UserChannel), [{"user_id": user_id, "channel_id": channel_uuid,
                                                       "is_active": active, "updated_at": at}])


Sequence_ = tuple | list


@pytest.fixture
def world(engine):
    return World(engine)
