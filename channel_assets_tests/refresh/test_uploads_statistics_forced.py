"""Uploads (feed first, playlist fallback), statistics snapshots and forced refresh, on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from channel_assets.cycle import Cycle
from channel_assets.db.core.models import Channel, ChannelStatisticsDaily, Video
from channel_assets.db.core.sharding import SHARD_COUNT
from channel_assets.db.refresh.statistics import snapshot_statistics
from channel_assets.db.refresh.uploads import unstored_pairs
from channel_assets.refresh.forced import UnknownChannels, force_refresh
from channel_assets.refresh.metadata import refresh_shards
from channel_assets.refresh.uploads import refresh_uploads
from channel_assets.youtube import InvalidChannelId

from .conftest import insert_channels

ALL = list(range(SHARD_COUNT))


def video_pairs(engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(Video.channel_id_snapshot, Video.video_id))]


@pytest.fixture
def fetched(engine, emulator, ledger_factory, client_factory):
    """200 channels after one metadata cycle."""
    insert_channels(engine, emulator.ids(200))
    gate = ledger_factory()
    client = client_factory(gate)
    refresh_shards(engine, client, gate, Cycle(emulator.world.now), ALL)
    return gate, client


def test_uploads_via_feed_cost_no_quota_and_rerun_adds_nothing(engine, emulator, fetched):
    gate, client = fetched
    now = emulator.world.now
    first = refresh_uploads(engine, client, gate, Cycle(now), ALL)
    assert not first.failures and first.checked > 150 and first.feed_hits == first.checked and first.playlist_pages == 0
    assert first.videos_added == len(video_pairs(engine)) > 0
    assert first.quota_units == first.video_calls  # only videos.list details
    # new upload a day later: found through the feed, one videos.list call at most per 50 new videos
    active = next(cid for cid in emulator.ids(200) if emulator.world.status(emulator.world.channel_index(cid))
                  == "active")
    emulator.world.advance(days=1, hours=3)  # past the feed's lag
    later = emulator.world.now
    new_id = emulator.world.add_upload(active, published=later - timedelta(hours=3))
    with engine.begin() as conn:  # make every channel due for an uploads check
        conn.execute(update(Channel).values(uploads_checked_at=now - timedelta(days=30)))
    second = refresh_uploads(engine, client, gate, Cycle(later), ALL)
    pairs = video_pairs(engine)
    assert (active, new_id) in pairs and len(pairs) == len(set(pairs))
    assert second.units_per_channel <= 0.05, second
    with engine.connect() as conn:
        row = conn.execute(select(Channel).where(Channel.channel_id == active)).one()
    assert row.last_upload_at == later - timedelta(hours=3) and row.uploads_checked_at == later
    with engine.begin() as conn:
        conn.execute(update(Channel).values(uploads_checked_at=now - timedelta(days=30)))
    third = refresh_uploads(engine, client, gate, Cycle(later), ALL)
    assert third.videos_added == 0 and len(video_pairs(engine)) == len(pairs)


def test_uploads_fall_back_to_the_playlist_when_the_feed_is_down(engine, emulator, fetched):
    gate, client = fetched
    now = emulator.world.now
    refresh_uploads(engine, client, gate, Cycle(now), ALL)
    before = set(video_pairs(engine))
    emulator.server.faults.configure({"feed_outage": True, "feed_outage_status": 500})
    cid = next(cid for cid, _ in sorted(before))
    new_id = emulator.world.add_upload(cid, published=now + timedelta(hours=1))
    emulator.world.advance(hours=2)
    with engine.begin() as conn:
        conn.execute(update(Channel).where(Channel.channel_id == cid)
                     .values(uploads_checked_at=now - timedelta(days=30)))
    summary = refresh_uploads(engine, client, gate, Cycle(emulator.world.now), ALL)
    assert summary.checked == 1 and summary.feed_failures == 1 and summary.playlist_pages == 1
    assert (cid, new_id) in set(video_pairs(engine))
    assert summary.quota_units == summary.playlist_pages + summary.video_calls == 2


def test_statistics_snapshot_is_idempotent_per_day(engine, emulator, fetched):
    day = emulator.world.now.date()
    first = snapshot_statistics(engine, day)
    again = snapshot_statistics(engine, day)
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(ChannelStatisticsDaily)).scalar_one()
        available = conn.execute(select(func.count()).select_from(Channel)
                                 .where(Channel.is_available.is_(True))).scalar_one()
    assert first.channels == again.channels == rows == available > 0
    assert first.views == again.views > 0
    gate, client = fetched
    emulator.world.advance(days=2)
    with engine.begin() as conn:
        conn.execute(update(Channel).values(next_refresh_at=emulator.world.now))
    refresh_shards(engine, client, gate, Cycle(emulator.world.now), ALL)
    snapshot_statistics(engine, day + timedelta(days=1))
    nxt = snapshot_statistics(engine, day + timedelta(days=1))
    assert nxt.movers and all(abs(m[4]) >= abs(nxt.movers[-1][4]) for m in nxt.movers)


def test_force_refresh_validates_ids_and_refreshes_now(engine, emulator, ledger_factory, client_factory):
    ids = emulator.ids(5)
    insert_channels(engine, ids, update_frequency="monthly", next_refresh_at=emulator.world.now + timedelta(days=20))
    gate = ledger_factory()
    client = client_factory(gate)
    with pytest.raises(InvalidChannelId, match="UCbad"):
        force_refresh(engine, client, gate, Cycle(emulator.world.now), [ids[0], "UCbad'; drop table x"])
    with pytest.raises(UnknownChannels, match="UCzzzzzzzzzzzzzzzzzzzzzz"):
        force_refresh(engine, client, gate, Cycle(emulator.world.now), [ids[0], "UCzzzzzzzzzzzzzzzzzzzzzz"])
    assert gate.total == 0
    summary = force_refresh(engine, client, gate, Cycle(emulator.world.now), ids[:2])
    assert summary.attempted == 2 and gate.total == 1
    with engine.connect() as conn:
        updated = conn.execute(select(Channel.channel_id).where(Channel.last_updated.is_not(None))).scalars().all()
    assert sorted(updated) == sorted(cid for cid in ids[:2]
                                     if emulator.world.status(emulator.world.channel_index(cid)) == "active")


def test_unstored_pairs_come_from_an_anti_join_in_chunks(engine, emulator, fetched):
    gate, client = fetched
    refresh_uploads(engine, client, gate, Cycle(emulator.world.now), ALL)
    stored = set(video_pairs(engine))
    cid = next(iter(sorted(stored)))[0]
    fresh = {(cid, f"new{i:08d}"[:11]) for i in range(7)} | {("UCnotstoredanywhere0000", "abcdefghijk")}
    assert unstored_pairs(engine, stored | fresh, pairs_per_query=3) == fresh  # many chunks, a short last one
    assert unstored_pairs(engine, stored) == set() and unstored_pairs(engine, set()) == set()


def test_a_feed_of_only_new_entries_overflows_to_the_playlist(engine, emulator, fetched):
    gate, client = fetched
    now = emulator.world.now
    refresh_uploads(engine, client, gate, Cycle(now), ALL)
    cid = next(cid for cid, _ in sorted(video_pairs(engine)))
    emulator.world.advance(days=1, hours=3)
    later = emulator.world.now
    new_ids = [emulator.world.add_upload(cid, published=later - timedelta(hours=3, minutes=i)) for i in range(20)]
    with engine.begin() as conn:
        conn.execute(update(Channel).where(Channel.channel_id == cid)
                     .values(uploads_checked_at=now - timedelta(days=30)))
    summary = refresh_uploads(engine, client, gate, Cycle(later), ALL)
    assert summary.checked == 1 and summary.feed_hits == 1 and summary.overflows == 1, summary
    assert summary.playlist_pages >= 1 and summary.videos_added == 20
    assert {(cid, vid) for vid in new_ids} <= set(video_pairs(engine))


def test_forced_uploads_check_ignores_the_tier_interval(engine, emulator, fetched):
    """force_refresh_channels promises uploads whatever the tier: a monthly channel checked an hour ago
    is checked again and its new video stored."""
    gate, client = fetched
    now = emulator.world.now
    refresh_uploads(engine, client, gate, Cycle(now), ALL)
    active = next(cid for cid in emulator.ids(200) if emulator.world.status(emulator.world.channel_index(cid))
                  == "active")
    with engine.begin() as conn:
        conn.execute(update(Channel).where(Channel.channel_id == active).values(update_frequency="monthly"))
    emulator.world.advance(days=1, hours=3)  # past the feed's lag
    later = emulator.world.now
    new_id = emulator.world.add_upload(active, published=later - timedelta(hours=3))
    with engine.begin() as conn:
        conn.execute(update(Channel).where(Channel.channel_id == active)
                     .values(uploads_checked_at=later - timedelta(hours=1)))
    refresh_uploads(engine, client, gate, Cycle(later), ALL)  # the tier's interval: not checked again yet
    assert (active, new_id) not in video_pairs(engine)
    forced = refresh_uploads(engine, client, gate, Cycle(later), ALL, channel_ids=[active])
    assert forced.checked == 1 and (active, new_id) in video_pairs(engine)
