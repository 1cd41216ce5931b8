"""Races: a forced refresh during the scheduled one (separate runs: own clients and gates), two uploads
runs of the same shards, and two cleanup runs at once while users keep re-subscribing."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from channel_assets.cycle import Cycle
from channel_assets.db.cleanup.orphans import detect_orphans
from channel_assets.db.cleanup.removal import ConcurrentSubscriptionError, run_removal, snapshot_due
from channel_assets.db.core.models import Channel, ChannelUpdateLog, UserChannel, UserVideo, Video
from channel_assets.refresh.forced import force_refresh
from channel_assets.refresh.metadata import refresh_shards
from channel_assets.refresh.uploads import refresh_uploads
from channel_assets_tests.cleanup.conftest import LIMITS, NOW
from channel_assets_tests.cleanup.conftest import World as CleanupWorld

from .conftest import (
    ALL,
    assert_matches_truth,
    assert_no_duplicate_videos,
    insert_channels,
    ledger_reserved,
    quota_logged,
)


def test_forced_refresh_during_the_scheduled_one_converges(engine, emulator, ledger_factory, client_factory):
    ids = emulator.ids(300)
    insert_channels(engine, ids)
    now = emulator.world.now
    gates = [ledger_factory() for _ in range(4)]  # four runs: each its own gate and client
    clients = [client_factory(g) for g in gates]
    live = [cid for cid in ids if emulator.world.status(emulator.world.channel_index(cid)) == "active"]
    with ThreadPoolExecutor(4) as pool:
        scheduled = pool.submit(refresh_shards, engine, clients[0], gates[0], Cycle(now), ALL, in_flight=4)
        forced = pool.submit(force_refresh, engine, clients[1], gates[1], Cycle(now), live[:120], in_flight=4)
        uploads = [pool.submit(refresh_uploads, engine, clients[i], gates[i], Cycle(now), ALL, in_flight=2)
                   for i in (2, 3)]
        results = [scheduled.result(), forced.result(), *(u.result() for u in uploads)]
    assert all(getattr(r, "failed", 0) == 0 for r in results)
    assert_matches_truth(engine, emulator, ids, now)  # no lost update: the same state as one run
    assert_no_duplicate_videos(engine)
    assert quota_logged(engine) == sum(r.quota_units for r in results) == ledger_reserved(engine)
    with engine.connect() as conn:
        per_channel = conn.execute(
            sa.select(ChannelUpdateLog.channel_id, sa.func.count())
            .where(ChannelUpdateLog.update_type == "metadata", ChannelUpdateLog.channel_id.is_not(None))
            .group_by(ChannelUpdateLog.channel_id)).all()
    assert max(n for _, n in per_channel) <= 2  # at most one change row per run, never more


@pytest.mark.parametrize("round_", [pytest.param(r, marks=() if r < 2 else pytest.mark.slow) for r in range(8)])
def test_two_cleanups_at_once_with_resubscribers_never_delete_twice_or_a_followed_channel(pg_engine, round_):
    rng = random.Random(round_)
    w = CleanupWorld(pg_engine)
    users = w.add_users(4)
    chans = [w.add_channel(inactive=users[:2], videos=2, watchers=users[:2],
                           orphaned_at=NOW - timedelta(days=9), soft_deleted_at=NOW - timedelta(days=8))
             for _ in range(40)]
    videos, watch = w.count(Video), w.count(UserVideo)
    stop = threading.Event()
    resubscribed: list = []
    errors: list[BaseException] = []

    def resubscriber():
        for ch in rng.sample(chans, 12):
            if stop.is_set():
                return
            try:
                w.subscribe(users[3], ch.uuid, active=True, at=NOW)
                resubscribed.append(ch)
            except sa.exc.IntegrityError:  # the channel was already hard-deleted: the app would re-create it
                pass

    def cleanup():
        try:
            detect_orphans(pg_engine, Cycle(NOW), NOW.date())
            snapshot_due(pg_engine, Cycle(NOW), 7, LIMITS, batch_size=3)
            run_removal(pg_engine, Cycle(NOW), 7, LIMITS, batch_size=3)
        except ConcurrentSubscriptionError:
            pass  # a batch rolled back whole because of a re-subscription: a clean, defined failure
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=cleanup), threading.Thread(target=cleanup),
               threading.Thread(target=resubscriber)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    stop.set()
    assert errors == []
    # a second, quiet pass finishes whatever the race rolled back
    run_removal(pg_engine, Cycle(NOW), 7, LIMITS, batch_size=3)
    for ch in resubscribed:
        row = w.channel(ch.channel_id)
        assert row is not None, "a followed channel was deleted"
    assert (w.count(Video), w.count(UserVideo)) == (videos, watch)
    with pg_engine.connect() as conn:
        deletes = conn.execute(
            sa.select(ChannelUpdateLog.channel_id, sa.func.count()).where(
                ChannelUpdateLog.update_type == "removal",
                ChannelUpdateLog.changes_made["phase"].as_string() == "hard_delete")
            .group_by(ChannelUpdateLog.channel_id)).all()
        followed_gone = conn.execute(
            sa.select(sa.func.count()).select_from(UserChannel)
            .where(UserChannel.is_active.is_(True), ~UserChannel.channel_id.in_(sa.select(Channel.uuid)))).scalar_one()
    assert all(n == 1 for _, n in deletes), "a channel was deleted twice"
    assert followed_gone == 0
    assert len(deletes) + len({c.channel_id for c in resubscribed}) == 40
