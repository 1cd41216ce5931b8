"""The re-subscription race on PostgreSQL: writers re-follow channels while the hard delete runs."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import psycopg
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from channel_assets.cycle import Cycle
from channel_assets.db.cleanup.removal import hard_delete_due
from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import Channel, UserChannel
from channel_assets_tests.cleanup.conftest import LIMITS, NOW, World


def _writer(engine, targets, start, results, seed):
    """Re-activates an existing subscription or inserts a new one; records the commits that succeeded."""
    rng = random.Random(seed)
    start.wait()
    for channel_uuid, user_id, fresh_user in targets:
        try:
            with transaction(engine) as conn:
                if rng.random() < 0.5:
                    ok = conn.execute(
                        sa.update(UserChannel)
                        .where(UserChannel.channel_id == channel_uuid, UserChannel.user_id == user_id)
                        .values(is_active=True, updated_at=NOW)
                    ).rowcount == 1
                else:
                    conn.execute(sa.insert(UserChannel), [{"user_id": fresh_user, "channel_id": channel_uuid,
                                                           "is_active": True}])
                    ok = True
            if ok:
                results.append(channel_uuid)
        except IntegrityError as exc:  # the channel was deleted first: the app must re-create it
            assert isinstance(exc.orig, psycopg.errors.ForeignKeyViolation)


def test_concurrent_resubscriptions_never_lose_a_followed_channel(pg_engine):
    world = World(pg_engine)
    users = world.add_users(40)
    trials, per_trial = 6, 40
    for trial in range(trials):
        channels = [world.add_channel(inactive=users[:1], videos=1, watchers=users[:2],
                                      orphaned_at=NOW - timedelta(days=9), soft_deleted_at=NOW - timedelta(days=8))
                    for _ in range(per_trial)]
        rng = random.Random(trial)
        picked = rng.sample(channels, per_trial // 2)
        start, results = threading.Barrier(3), []
        halves = [picked[::2], picked[1::2]]
        writers = [
            threading.Thread(target=_writer, args=(
                pg_engine, [(c.uuid, users[0], users[1 + k % 39]) for k, c in enumerate(half)], start, results, n))
            for n, half in enumerate(halves)
        ]
        for w in writers:
            w.start()
        start.wait()
        hard_delete_due(pg_engine, Cycle(NOW), 7, LIMITS, batch_size=rng.choice([3, 7, 20]))
        for w in writers:
            w.join()
        hard_delete_due(pg_engine, Cycle(NOW), 7, LIMITS)  # restores channels followed after their batch's check

        survivors = {r.uuid for r in _rows(pg_engine)}
        assert set(results) <= survivors, f"trial {trial}: a channel with a committed subscription was deleted"
        with pg_engine.connect() as conn:
            followed = set(conn.execute(
                sa.select(UserChannel.channel_id).where(UserChannel.is_active.is_(True))
            ).scalars())
            soft_but_followed = conn.execute(
                sa.select(sa.func.count()).select_from(Channel)
                .where(Channel.soft_deleted_at.is_not(None), Channel.uuid.in_(followed))
            ).scalar_one() if followed else 0
        assert set(results) <= followed and soft_but_followed == 0
        assert survivors == followed  # everything nobody follows is gone


def _rows(engine):
    with engine.connect() as conn:
        return conn.execute(sa.select(Channel.uuid)).all()
