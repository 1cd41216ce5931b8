"""Metadata refresh against the emulator (ground truth over real sockets)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from channel_assets.cycle import Cycle
from channel_assets.db.core.models import Channel, ChannelUpdateLog
from channel_assets.db.core.sharding import SHARD_COUNT
from channel_assets.refresh.metadata import refresh_shards
from channel_assets.refresh.tiers import POLICY_MAX_AGE

from .conftest import insert_channels

ALL = list(range(SHARD_COUNT))
NEVER_EXISTED = "UCaaaaaaaaaaaaaaaaaaaaaZ"


def channels(engine) -> dict[str, object]:
    with engine.connect() as conn:
        return {r.channel_id: r for r in conn.execute(select(Channel))}


def quota_logged(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.coalesce(func.sum(ChannelUpdateLog.api_quota_used), 0))).scalar_one()


def test_full_cycle_matches_world_at_49_plus_channels_per_unit(engine, emulator, ledger_factory, client_factory):
    ids = emulator.ids(1000)
    insert_channels(engine, ids)
    gate = ledger_factory()
    now = emulator.world.now
    summary = refresh_shards(engine, client_factory(gate), gate, Cycle(now), ALL)

    truth = emulator.truth(1000)
    rows = channels(engine)
    live = [cid for cid in ids if truth[cid]["status"] == "active"]
    assert summary.due == 1000 and summary.refreshed == len(live)
    for cid in live:
        row, t = rows[cid], truth[cid]
        assert (row.title, row.description) == (t["title"], t["description"])
        assert (row.subscriber_count, row.video_count, row.view_count) == (
            t["subscriberCount"], t["videoCount"], t["viewCount"])
        assert row.hidden_subscriber_count == t["hiddenSubscriberCount"]
        assert row.is_available and row.last_updated == now and row.failed_update_count == 0
        assert now < row.next_refresh_at <= now + POLICY_MAX_AGE
    for cid in set(ids) - set(live):
        assert not rows[cid].is_available and rows[cid].unavailable_reason == "missing"
    assert emulator.calls("api.channels") == summary.quota_units == gate.total
    first_pass_calls = 1000 // 50
    assert summary.quota_units <= first_pass_calls + 1
    assert summary.channels_per_unit >= 49 or summary.quota_units == first_pass_calls + 1
    assert (summary.refreshed + summary.gone) / first_pass_calls >= 49
    assert quota_logged(engine) == summary.quota_units


def test_rerun_on_fresh_database_is_a_no_op(engine, emulator, ledger_factory, client_factory):
    ids = emulator.ids(120)
    insert_channels(engine, ids)
    gate = ledger_factory()
    client = client_factory(gate)
    first = refresh_shards(engine, client, gate, Cycle(emulator.world.now), ALL)
    with engine.connect() as conn:
        logs = conn.execute(select(func.count()).select_from(ChannelUpdateLog)).scalar_one()
    again = refresh_shards(engine, client, gate, Cycle(emulator.world.now + timedelta(minutes=5)), ALL)
    assert first.refreshed > 100 and again.due == 0 and again.quota_units == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ChannelUpdateLog)).scalar_one() == logs
    assert gate.status().used == first.quota_units


def test_changes_are_logged_old_to_new_and_unchanged_channels_write_no_row(engine, emulator, ledger_factory,
                                                                          client_factory):
    ids = emulator.ids(100)
    insert_channels(engine, ids)
    gate = ledger_factory()
    client = client_factory(gate)
    refresh_shards(engine, client, gate, Cycle(emulator.world.now), ALL)
    live = [cid for cid in ids if emulator.world.status(emulator.world.channel_index(cid)) == "active"]
    renamed = live[0]
    old_title = channels(engine)[renamed].title
    emulator.world.set_title(renamed, "Renamed <b>| title")
    later = emulator.world.now + timedelta(days=40)  # everything due again, same simulated day for counts
    with engine.begin() as conn:
        conn.execute(update(Channel).values(next_refresh_at=emulator.world.now))
    summary = refresh_shards(engine, client, gate, Cycle(later), ALL)
    assert summary.changed == 1 and summary.unchanged == summary.refreshed - 1
    with engine.connect() as conn:
        rows = conn.execute(select(ChannelUpdateLog).where(ChannelUpdateLog.channel_id == renamed,
                                                           ChannelUpdateLog.created_at == later)).all()
    assert len(rows) == 1 and rows[0].changes_made == {"title": [old_title, "Renamed <b>| title"]}
    assert summary.largest_changes[0][0] == renamed


def test_deleted_channel_becomes_unavailable_only_after_second_pass_and_comes_back(
        engine, emulator, ledger_factory, client_factory):
    ids = emulator.ids(60) + [NEVER_EXISTED]
    insert_channels(engine, ids)
    gate = ledger_factory()
    client = client_factory(gate)
    live = [cid for cid in ids[:60] if emulator.world.status(emulator.world.channel_index(cid)) == "active"]
    doomed = live[3]
    refresh_shards(engine, client, gate, Cycle(emulator.world.now), ALL)
    assert channels(engine)[NEVER_EXISTED].is_available is False
    emulator.world.set_status(doomed, "deleted")
    later = emulator.world.now + timedelta(days=28)
    summary = refresh_shards(engine, client, gate, Cycle(later), ALL)
    assert summary.missing_first_pass >= 1 and summary.gone == 1
    row = channels(engine)[doomed]
    assert (row.is_available, row.unavailable_reason, row.missing_since) == (False, "missing", later)
    # the second pass cost extra calls: first pass 2 batches, second pass 1 batch
    assert summary.quota_units == 3
    emulator.world.set_status(doomed, "active")
    back = later + timedelta(days=28)
    summary = refresh_shards(engine, client, gate, Cycle(back), ALL)
    row = channels(engine)[doomed]
    assert summary.restored == 1 and row.is_available and row.missing_since is None and row.last_updated == back


def test_transient_faults_never_mark_a_channel_unavailable(engine, emulator, ledger_factory, client_factory):
    ids = emulator.ids(300)
    insert_channels(engine, ids)
    emulator.server.faults.configure({"error_rate": 0.5, "seed": 3})
    gate = ledger_factory()
    client = client_factory(gate, max_attempts=2, breaker_threshold=1000)
    summary = refresh_shards(engine, client, gate, Cycle(emulator.world.now), ALL, in_flight=4)
    rows = channels(engine)
    assert summary.failed > 0 and summary.refreshed > 0
    failing = [r for r in rows.values() if r.failed_update_count]
    assert len(failing) == summary.failed
    for r in failing:
        assert r.is_available and r.last_error and "key=" not in r.last_error
        assert r.next_refresh_at == emulator.world.now + timedelta(minutes=30)
    truth = emulator.truth(300)
    assert all(rows[cid].is_available for cid in ids if truth[cid]["status"] == "active")
    assert quota_logged(engine) == summary.quota_units == gate.total


def test_quota_share_exhausted_mid_run_defers_and_next_pacific_day_resumes(
        engine, emulator, ledger_factory, client_factory):
    ids = emulator.ids(1000)
    insert_channels(engine, ids)
    for flag, cid in ((Channel.is_critical, ids[0]), (Channel.is_priority, ids[1])):
        with engine.begin() as conn:
            conn.execute(update(Channel).where(Channel.channel_id == cid).values({flag: True}))
    gate = ledger_factory(limit=7)
    client = client_factory(gate)
    summary = refresh_shards(engine, client, gate, Cycle(emulator.world.now), ALL)
    rows = channels(engine)
    fetched = [r for r in rows.values() if r.last_updated is not None or not r.is_available]
    assert summary.quota_units <= 7 and gate.status().reserved <= 7
    assert rows[ids[0]].last_updated and rows[ids[1]].last_updated  # critical and priority went first
    assert summary.deferred_total == 1000 - summary.attempted > 0 and summary.stopped_by_quota
    assert len(fetched) == summary.attempted - summary.failed
    assert quota_logged(engine) == summary.quota_units
    # the same simulated day: the unit kept for a second pass is all that is left, then nothing
    assert refresh_shards(engine, client, gate, Cycle(emulator.world.now), ALL).quota_units <= 1
    assert refresh_shards(engine, client, gate, Cycle(emulator.world.now), ALL).quota_units == 0
    assert gate.status().reserved <= 7
    emulator.world.advance(days=1)  # past midnight America/Los_Angeles
    resumed = refresh_shards(engine, client, gate, Cycle(emulator.world.now), ALL)
    assert resumed.quota_units > 0 and resumed.attempted > 0


@pytest.mark.parametrize("runs", [2])
def test_two_concurrent_runs_of_one_shard_converge(engine, emulator, ledger_factory, client_factory, runs):
    from concurrent.futures import ThreadPoolExecutor

    ids = emulator.ids(400)
    insert_channels(engine, ids)
    gate = ledger_factory()
    client = client_factory(gate)
    with ThreadPoolExecutor(runs) as pool:
        results = list(pool.map(lambda _: refresh_shards(engine, client, gate, Cycle(emulator.world.now), ALL, in_flight=4), range(runs)))
    truth = emulator.truth(400)
    rows = channels(engine)
    for cid in ids:
        assert rows[cid].is_available == (truth[cid]["status"] == "active")
        if rows[cid].is_available:
            assert rows[cid].title == truth[cid]["title"] and rows[cid].failed_update_count == 0
    assert quota_logged(engine) == sum(r.quota_units for r in results) == gate.total


def test_every_tracked_field_is_logged_old_to_new(engine, emulator, ledger_factory, client_factory):
    """The diff is built in SQL (COPY + one UPDATE … FROM); the log rows hold what Python's json would write,
    including datetimes (isoformat, with and without microseconds), NULLs, booleans and restores."""
    from datetime import UTC, datetime

    from channel_assets.db.refresh.channel_writes import TRACKED

    def _jsonable(value):
        return value.isoformat() if isinstance(value, datetime) else value

    ids = emulator.ids(120)
    insert_channels(engine, ids)
    gate = ledger_factory()
    client = client_factory(gate)
    refresh_shards(engine, client, gate, Cycle(emulator.world.now), ALL)
    fresh = channels(engine)
    a, b, c = [cid for cid in ids if fresh[cid].is_available][:3]
    stale = {
        a: {"title": "Old <b>| title", "published_at": datetime(2001, 2, 3, 4, 5, 6, 789, tzinfo=UTC),
            "hidden_subscriber_count": not fresh[a].hidden_subscriber_count, "country": None, "view_count": None},
        b: {"description": 'old\n"quoted" ünïcødé ✓', "published_at": datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC),
            "custom_url": "@old", "subscriber_count": 1},
        c: {"thumbnail_url": "https://old.example/t.jpg", "uploads_playlist_id": "UUold", "video_count": 0,
            "is_available": False, "unavailable_reason": "missing"},
    }
    with engine.begin() as conn:
        conn.execute(update(Channel).values(next_refresh_at=emulator.world.now))
        for cid, values in stale.items():
            conn.execute(update(Channel).where(Channel.channel_id == cid).values(**values))
    later = emulator.world.now + timedelta(days=1)
    summary = refresh_shards(engine, client, gate, Cycle(later), ALL)

    expected = {cid: {f: [_jsonable(v), _jsonable(getattr(fresh[cid], f))] for f, v in values.items() if f in TRACKED}
                for cid, values in stale.items()}
    expected[c]["is_available"] = [False, True]
    with engine.connect() as conn:
        logged = {r.channel_id: r.changes_made for r in conn.execute(
            select(ChannelUpdateLog).where(ChannelUpdateLog.created_at == later,
                                           ChannelUpdateLog.channel_id.is_not(None)))}
    assert {cid: changes for cid, changes in logged.items() if changes} == expected
    # every refresh leaves a row (seed 000): "refreshed, unchanged" is part of a channel's history
    assert sum(changes is None for changes in logged.values()) == summary.unchanged > 100
    assert (summary.changed, summary.restored, summary.unchanged) == (3, 1, summary.refreshed - 3)
    assert {item[0]: item[2] for item in summary.largest_changes} == {
        cid: ", ".join(sorted(changes)) for cid, changes in expected.items()}
    again = channels(engine)
    for cid in stale:
        assert all(getattr(again[cid], f) == getattr(fresh[cid], f) for f in TRACKED) and again[cid].is_available
