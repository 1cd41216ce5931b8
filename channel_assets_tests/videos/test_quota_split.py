"""The video part of the quota: capped, spent after the due channels, counted in the ledger."""

from __future__ import annotations

from sqlalchemy import select

from channel_assets.cycle import Cycle
from channel_assets.db.core.models import ApiQuotaLedger
from channel_assets.db.refresh.quota_ledger import QuotaLedger
from channel_assets.db.videos.tiering import VideoTierRules
from channel_assets.videos.refresh import refresh_video_shards
from channel_assets_tests.refresh.conftest import insert_channels

RULES = VideoTierRules()


def _run(engine, videos, client_factory, gate, run="r1"):
    return refresh_video_shards(engine, client_factory(gate), gate, Cycle(videos.world.now, run, "test"),
                                range(16), RULES, in_flight=2)


def _ledger_row(engine):
    with engine.connect() as conn:
        return conn.execute(select(ApiQuotaLedger)).one()


def test_videos_stop_at_their_cap_and_count_in_the_ledger(engine, videos, client_factory, video_gate):
    ids = videos.store(channels=8, per_channel=25)  # 200 videos: 4 calls
    s = _run(engine, videos, client_factory, video_gate(limit=100, video_limit=2))
    row = _ledger_row(engine)
    # one batch planned, one unit kept for a second pass that was not needed (given back)
    assert s.quota_units == 1 and row.video_units == 1 and row.units_reserved == 1
    assert s.answered == 50 and s.deferred_total == len(ids) - 50 and s.stopped_by_quota
    again = _run(engine, videos, client_factory, video_gate(limit=100, video_limit=2), run="r2")
    assert again.quota_units == 1 and _ledger_row(engine).video_units == 2
    third = _run(engine, videos, client_factory, video_gate(limit=100, video_limit=2), run="r3")
    assert third.quota_units == 0 and third.answered == 0 and _ledger_row(engine).units_reserved == 2


def test_videos_go_after_the_due_channels(engine, emulator, videos, client_factory, video_gate):
    videos.store(channels=2, per_channel=10)
    insert_channels(engine, emulator.ids(120, offset=100))  # 120 due channels: 3 units kept for them
    s = _run(engine, videos, client_factory, video_gate(limit=3, video_limit=3))
    assert s.quota_units == 0 and s.channel_units_reserved == 3 and s.deferred_total == 20
    s = _run(engine, videos, client_factory, video_gate(limit=4, video_limit=3), run="r2")
    assert s.quota_units == 1 and s.answered == 20


def test_unused_video_units_are_not_spent_by_anyone_else(engine, videos, client_factory, video_gate):
    videos.store(channels=1, per_channel=10)
    s = _run(engine, videos, client_factory, video_gate(limit=100, video_limit=50))
    row = _ledger_row(engine)
    assert s.quota_units == 1 and row.video_units == 1 and row.units_reserved == 1  # the rest went back
    channels = QuotaLedger(engine, 100, now=lambda: videos.world.now)
    assert channels.status().left == 99 and channels.status().video_used == 1
