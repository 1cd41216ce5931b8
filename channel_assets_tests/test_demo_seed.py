from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from channel_assets.db.core.models import Channel, UserChannel, UserVideo, Video
from channel_assets.db.demo_data import DatabaseNotEmptyError
from channel_assets.demo_seed import build_population, seed_demo

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def test_population_is_deterministic():
    a = build_population(50, 200, seed=3, now=NOW)
    b = build_population(50, 200, seed=3, now=NOW)
    assert a == b
    assert build_population(50, 200, seed=4, now=NOW)["channels"] != a["channels"]


def test_power_law_orphans_and_a_big_orphan():
    pop = build_population(300, 1000, seed=1, now=NOW)
    followers: dict = {}
    for s in pop["subscriptions"]:
        if s["is_active"]:
            followers[s["channel_id"]] = followers.get(s["channel_id"], 0) + 1
    counts = sorted(followers.values(), reverse=True)
    assert counts[0] >= 50 and counts[len(counts) // 2] <= 2
    orphans = {c["uuid"] for c in pop["channels"]} - set(followers)
    assert len(orphans) >= 50
    videos_per_channel: dict = {}
    for v in pop["videos"]:
        videos_per_channel[v["channel_id"]] = videos_per_channel.get(v["channel_id"], 0) + 1
    assert any(videos_per_channel.get(o, 0) >= 100 for o in orphans)


def test_seed_inserts_counts_and_refuses_non_empty(engine):
    counts = seed_demo(engine, users=100, channels=300, seed=5, now=NOW)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Channel)).scalar_one() == counts.channels == 300
        assert conn.execute(select(func.count()).select_from(UserChannel)).scalar_one() == counts.subscriptions
        assert conn.execute(select(func.count()).select_from(Video)).scalar_one() == counts.videos
        assert conn.execute(select(func.count()).select_from(UserVideo)).scalar_one() == counts.watch_rows
    assert counts.orphans > 0
    with pytest.raises(DatabaseNotEmptyError):
        seed_demo(engine, users=100, channels=300, seed=5, now=NOW)
    again = seed_demo(engine, users=100, channels=300, seed=5, now=NOW, force=True)
    assert again == counts
