"""Reliability fixtures: the refresh emulator fixtures plus invariant checks shared by the fault tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from channel_assets.db.core.models import ApiQuotaLedger, Channel, ChannelUpdateLog, Video
from channel_assets.db.core.sharding import SHARD_COUNT
from channel_assets_tests.refresh.conftest import (  # noqa: F401  (fixtures re-exported)
    Emu,
    client_factory,
    emulator,
    insert_channels,
    ledger_factory,
)

ALL = list(range(SHARD_COUNT))


def channel_rows(engine) -> dict[str, object]:
    with engine.connect() as conn:
        return {r.channel_id: r for r in conn.execute(select(Channel))}


def quota_logged(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.coalesce(func.sum(ChannelUpdateLog.api_quota_used), 0))).scalar_one()


def ledger_reserved(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.coalesce(func.sum(ApiQuotaLedger.units_reserved), 0))).scalar_one()


def video_pairs(engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(Video.channel_id_snapshot, Video.video_id))]


def assert_no_duplicate_videos(engine) -> None:
    pairs = video_pairs(engine)
    assert len(pairs) == len(set(pairs)), "duplicate (channel, video) rows"


def assert_no_healthy_channel_unavailable(engine, emu: Emu, ids: list[str]) -> None:
    """A channel may only be unavailable when the emulator says it is not active."""
    rows = channel_rows(engine)
    wrong = [cid for cid in ids if not rows[cid].is_available
             and emu.world.status(emu.world.channel_index(cid)) == "active"]
    assert wrong == [], f"healthy channels marked unavailable: {wrong[:5]}"


def assert_matches_truth(engine, emu: Emu, ids: list[str], now: datetime) -> None:
    """Every channel equals the emulator's ground truth: availability, texts, counts, refreshed at `now`."""
    truth = emu.truth(len(ids))
    rows = channel_rows(engine)
    for cid in ids:
        row, t = rows[cid], truth[cid]
        assert row.is_available == (t["status"] == "active"), (cid, row.is_available, t["status"])
        if row.is_available:
            assert (row.title, row.description) == (t["title"], t["description"]), cid
            assert (row.subscriber_count, row.video_count, row.view_count) == (
                t["subscriberCount"], t["videoCount"], t["viewCount"]), cid
            assert row.last_updated == now and row.failed_update_count == 0 and row.last_error is None, cid


def make_all_due(engine, when: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(update(Channel).values(next_refresh_at=when - timedelta(minutes=1)))
