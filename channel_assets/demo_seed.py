"""A realistic, deterministic demo population, bulk-inserted.

Power-law subscriptions (a few channels with many followers, most with one), some channels already
orphaned, one orphan big enough to be held by the cleanup safety rules, videos and watch history.
Channel ids come from the emulator's world (so the demo refresh finds them) plus a few that never
existed (so the demo shows channels going unavailable).
"""

from __future__ import annotations

import random
import string
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from channel_assets.db.core.sharding import shard_of
from channel_assets.db.demo_data import check_demo_target, insert_population
from channel_assets.emulator.world import channel_ids

ID_CHARS = string.ascii_letters + string.digits + "-_"


@dataclass(frozen=True)
class SeedCounts:
    users: int
    channels: int
    subscriptions: int
    videos: int
    watch_rows: int
    orphans: int


def _never_existed_id(rng: random.Random) -> str:
    return "UC" + "".join(rng.choice(ID_CHARS) for _ in range(21)) + "Z"


def build_population(users: int, channels: int, seed: int, now: datetime) -> dict[str, list[dict]]:
    """The rows to insert, as plain dicts per table; pure and deterministic for (users, channels, seed)."""
    rng = random.Random(seed)
    gone = max(channels // 100, 1) if channels >= 20 else 0
    ids = channel_ids(channels - gone, seed) + [_never_existed_id(rng) for _ in range(gone)]
    rng.shuffle(ids)

    frequencies = rng.choices(["daily", "weekly", "monthly"], weights=[2, 6, 2], k=channels)
    channel_rows = [
        {
            "uuid": uuid.UUID(int=rng.getrandbits(128), version=4),
            "channel_id": cid,
            "title": None,
            "url": f"https://www.youtube.com/channel/{cid}",
            "update_frequency": freq,
            "shard": shard_of(cid),
            "is_critical": i < 2,
            "created_at": now - timedelta(days=rng.randint(30, 900)),
            "updated_at": now,
        }
        for i, (cid, freq) in enumerate(zip(ids, frequencies, strict=True))
    ]
    user_rows = [
        {
            "id": n + 1,
            "username": f"user{n + 1:06d}",
            "is_active": True,
            "last_login": now - timedelta(days=rng.choice([0, 1, 2, 5, 12, 29, 45, 200])),
            "created_at": now - timedelta(days=rng.randint(31, 1000)),
        }
        for n in range(users)
    ]

    # ~8% of channels get no follower at all (orphans); the rest are followed with a power law.
    followable = [c for c in channel_rows if rng.random() >= 0.08]
    subscriptions: dict[tuple[int, uuid.UUID], dict] = {}
    for user in user_rows:
        for _ in range(1 + int(rng.expovariate(1 / 6))):
            channel = followable[int(len(followable) * rng.random() ** 3)] if followable else None
            if channel is None:
                break
            key = (user["id"], channel["uuid"])
            subscriptions.setdefault(
                key,
                {
                    "user_id": user["id"],
                    "channel_id": channel["uuid"],
                    "is_active": True,
                    "subscribed_at": now - timedelta(days=rng.randint(1, 700)),
                    "updated_at": now - timedelta(days=rng.randint(1, 30)),
                },
            )
    # Every followable channel has at least one (possibly inactive) subscription: some lost their last follower.
    followed = {s["channel_id"] for s in subscriptions.values()}
    for channel in followable:
        if channel["uuid"] not in followed and user_rows:
            user = rng.choice(user_rows)
            subscriptions[(user["id"], channel["uuid"])] = {
                "user_id": user["id"],
                "channel_id": channel["uuid"],
                "is_active": rng.random() < 0.7,
                "subscribed_at": now - timedelta(days=rng.randint(30, 700)),
                "updated_at": now - timedelta(days=rng.randint(1, 30)),
            }
    actively_followed = {s["channel_id"] for s in subscriptions.values() if s["is_active"]}
    orphan_uuids = {c["uuid"] for c in channel_rows} - actively_followed

    # Videos: a handful per channel; the biggest orphan gets enough to trip the 100-video safety rule.
    video_rows: list[dict] = []
    by_channel: dict[uuid.UUID, list[dict]] = {}
    big_orphan = next((c for c in channel_rows if c["uuid"] in orphan_uuids), None)
    for channel in channel_rows:
        count = 120 if channel is big_orphan else int(rng.expovariate(1 / 4))
        vids = [
            {
                "uuid": uuid.UUID(int=rng.getrandbits(128), version=4),
                "video_id": "".join(rng.choice(ID_CHARS) for _ in range(11)),
                "channel_id": channel["uuid"],
                "channel_id_snapshot": channel["channel_id"],
                "title": f"Archived upload {n + 1}",
                "published_at": now - timedelta(days=rng.randint(40, 2000)),
                "duration": rng.randint(30, 3600),
                "view_count": rng.randint(0, 1_000_000),
                "created_at": now - timedelta(days=rng.randint(1, 30)),
                "updated_at": now,
            }
            for n in range(count)
        ]
        by_channel[channel["uuid"]] = vids
        video_rows.extend(vids)

    # Watch history: users watched videos of channels they follow, and some of the orphans' videos.
    watch: dict[tuple[int, uuid.UUID], dict] = {}
    for (user_id, channel_uuid) in subscriptions:
        vids = by_channel.get(channel_uuid) or []
        for video in rng.sample(vids, min(len(vids), rng.randint(0, 3))):
            watch[(user_id, video["uuid"])] = _watch_row(rng, user_id, video, now)
    orphan_videos = [v for cu in sorted(orphan_uuids) for v in by_channel.get(cu, [])]
    for user in user_rows[: max(users // 5, 1)]:
        for video in rng.sample(orphan_videos, min(len(orphan_videos), 3)):
            watch[(user["id"], video["uuid"])] = _watch_row(rng, user["id"], video, now)

    return {
        "users": user_rows,
        "channels": channel_rows,
        "subscriptions": list(subscriptions.values()),
        "videos": video_rows,
        "watch": list(watch.values()),
    }


def _watch_row(rng: random.Random, user_id: int, video: dict, now: datetime) -> dict:
    watched = now - timedelta(days=rng.randint(0, 365))
    return {
        "user_id": user_id,
        "video_id": video["uuid"],
        "is_watched": True,
        "watched_at": watched,
        "created_at": watched,
        "updated_at": watched,
    }


def seed_demo(engine: Engine, users: int, channels: int, seed: int, force: bool = False,
              now: datetime | None = None) -> SeedCounts:
    """Fill the database; refuses a non-empty one unless force (then the demo tables are emptied first)."""
    if users < 1 or channels < 1:
        raise ValueError("--users and --channels must be at least 1")
    now = now or datetime.now(UTC)
    check_demo_target(engine, force)
    rows = build_population(users, channels, seed, now)
    orphans = insert_population(engine, rows, replace=force)
    return SeedCounts(
        users=len(rows["users"]),
        channels=len(rows["channels"]),
        subscriptions=len(rows["subscriptions"]),
        videos=len(rows["videos"]),
        watch_rows=len(rows["watch"]),
        orphans=orphans,
    )
