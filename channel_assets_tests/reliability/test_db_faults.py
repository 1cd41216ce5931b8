"""PostgreSQL drops the pipeline's connection mid-batch (pg_terminate_backend from another session, right
before the batch's last statement): the batch rolls back whole, the run fails with a clear database error,
nothing is half-written, and the next run completes and converges."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from channel_assets.cycle import Cycle
from channel_assets.db.cleanup import removal
from channel_assets.db.cleanup.removal import hard_delete_due
from channel_assets.db.core.models import Channel, UserVideo, Video
from channel_assets.refresh import metadata, uploads
from channel_assets.refresh.metadata import refresh_shards
from channel_assets.refresh.uploads import refresh_uploads
from channel_assets_tests.cleanup.conftest import LIMITS, NOW
from channel_assets_tests.cleanup.conftest import World as CleanupWorld
from channel_assets_tests.pg import admin_dsn

from .conftest import (
    ALL,
    assert_matches_truth,
    assert_no_duplicate_videos,
    channel_rows,
    insert_channels,
    ledger_reserved,
    quota_logged,
    video_pairs,
)


class DropConnectionOn:
    """Wraps a module's write_events: on its n-th call the connection's backend is terminated first."""

    def __init__(self, monkeypatch, module, n: int) -> None:
        self.real, self.n, self.calls, self.victim_rows = module.write_events, n, 0, None
        monkeypatch.setattr(module, "write_events", self)

    def __call__(self, conn, rows):
        self.calls += 1
        if self.calls == self.n:
            self.victim_rows = rows
            pid = conn.connection.dbapi_connection.info.backend_pid
            with psycopg.connect(admin_dsn(), autocommit=True) as admin:
                assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
        return self.real(conn, rows)


@pytest.fixture
def engine(pg_engine):  # the refresh emulator fixtures ask for `engine`: PostgreSQL only here
    return pg_engine


def test_metadata_batch_rolls_back_when_the_connection_drops(engine, emulator, ledger_factory, client_factory,
                                                             monkeypatch):
    ids = emulator.ids(400)
    insert_channels(engine, ids)
    now = emulator.world.now
    gate = ledger_factory()
    # One API batch per write transaction, so the third transaction exists however fast answers arrive
    # (by default the writer groups whatever is ready, and a quiet machine may need only two).
    monkeypatch.setattr(metadata, "MAX_GROUP", 1)
    drop = DropConnectionOn(monkeypatch, metadata, 3)
    with pytest.raises(DBAPIError, match="terminat"):
        refresh_shards(engine, cycle=Cycle(now), gate=gate, client=client_factory(gate), shards=ALL, in_flight=2)
    monkeypatch.undo()
    assert drop.victim_rows
    rows = channel_rows(engine)
    truth = emulator.truth(400)
    written = {cid for cid, r in rows.items() if r.next_refresh_at is not None}
    for cid, r in rows.items():  # each channel untouched, or written whole and exactly
        if cid in written:
            assert r.title == truth[cid]["title"] or not r.is_available
        else:
            assert (r.title, r.last_updated, r.failed_update_count, r.is_available) == (None, None, 0, True)
    assert 0 < len(written) < 400 and len(written) % 50 == 0  # whole batches only, the dropped one is not
    assert quota_logged(engine) <= ledger_reserved(engine)

    gate2 = ledger_factory()
    again = refresh_shards(engine, client_factory(gate2), gate2, Cycle(now), ALL, in_flight=2)
    assert again.failed == 0 and again.due == 400 - len(written)
    assert_matches_truth(engine, emulator, ids, now)


def test_uploads_group_rolls_back_when_the_connection_drops(engine, emulator, ledger_factory, client_factory,
                                                            monkeypatch):
    ids = emulator.ids(150)
    insert_channels(engine, ids)
    now = emulator.world.now
    gate = ledger_factory()
    client = client_factory(gate)
    refresh_shards(engine, client, gate, Cycle(now), ALL)
    DropConnectionOn(monkeypatch, uploads, 2)
    with pytest.raises(DBAPIError):
        refresh_uploads(engine, client, gate, Cycle(now), ALL, group_size=50)
    monkeypatch.undo()
    rows = channel_rows(engine)
    checked = {cid for cid, r in rows.items() if r.uploads_checked_at is not None}
    stored = {cid for cid, _ in video_pairs(engine)}
    assert len(checked) == 50 and stored <= checked, "videos written for a group that rolled back"
    again = refresh_uploads(engine, client, gate, Cycle(now), ALL, group_size=50)
    assert again.failed == 0 and again.checked == len([r for r in rows.values() if r.is_available]) - 50
    assert_no_duplicate_videos(engine)


def test_cleanup_batch_rolls_back_when_the_connection_drops(pg_engine, monkeypatch):
    from datetime import timedelta

    w = CleanupWorld(pg_engine)
    users = w.add_users(2)
    chans = [w.add_channel(inactive=users, videos=2, watchers=users, orphaned_at=NOW - timedelta(days=9),
                           soft_deleted_at=NOW - timedelta(days=8)) for _ in range(9)]
    videos, watch = w.count(Video), w.count(UserVideo)
    DropConnectionOn(monkeypatch, removal, 2)
    with pytest.raises(DBAPIError):
        hard_delete_due(pg_engine, Cycle(NOW), 7, LIMITS, batch_size=3)
    monkeypatch.undo()
    assert w.count(Channel) == 6  # the first batch of 3 committed, the second rolled back whole
    for c in chans:
        if w.channel(c.channel_id) is not None:
            assert w.count(Video, Video.channel_id == c.uuid) == 2
            assert w.count(Video, Video.channel_id_snapshot == c.channel_id,
                           Video.original_channel_metadata.is_not(None)) == 0
    again = hard_delete_due(pg_engine, Cycle(NOW), 7, LIMITS, batch_size=3)
    assert again.hard_deleted == 6 and w.count(Channel) == 0
    assert (w.count(Video), w.count(UserVideo)) == (videos, watch)
    with pg_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(UserVideo)
                            .where(UserVideo.channel_context.is_(None))).scalar_one() == 0
