"""The cleanup while the gallery app keeps writing: watches on the channels being removed, follows and
unfollows, re-follows, videos the app imports for those channels. Rows that arrive between the steps, or
while a batch is deleted, are the removal's own work: the hard deletes happen, nothing is lost, a re-follow
still wins, and every check stays green."""

from __future__ import annotations

import random
import threading
import uuid
from datetime import timedelta

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from channel_assets.cycle import Cycle
from channel_assets.db.cleanup import removal as removal_module
from channel_assets.db.cleanup.check_reads import removed_without_snapshot
from channel_assets.db.cleanup.orphans import detect_orphans
from channel_assets.db.cleanup.removal import run_removal, snapshot_due
from channel_assets.db.cleanup.snapshots import fill_missing_watch_context
from channel_assets.db.core.engine import make_engine, transaction
from channel_assets.db.core.models import UserChannel, UserVideo, Video
from channel_assets.defs.cleanup import assets as cleanup_assets_module
from channel_assets.defs.cleanup.assets import cleanup_assets
from channel_assets.defs.cleanup.checks import cleanup_checks
from channel_assets.defs.resources import AppDatabase, PipelinePolicy
from channel_assets_tests.cleanup.conftest import LIMITS, NOW

DAY8 = NOW + timedelta(days=8)


class App:
    """The gallery app's writes, as plain SQL in transactions of their own (its own connection pool)."""

    def __init__(self, engine):
        self.engine = make_engine(engine.url.render_as_string(hide_password=False))

    def watch(self, user_id: int, video_uuid) -> bool:
        """A watch: a new row, or the existing one updated (Django's update_or_create); True when new."""
        with transaction(self.engine) as conn:
            return conn.execute(sa.text(
                "INSERT INTO users_uservideo (user_id, video_id, is_watched, watched_at) VALUES (:u, :v, true, now()) "
                "ON CONFLICT (user_id, video_id) DO UPDATE SET watched_at = now(), updated_at = now() "
                "RETURNING xmax = 0"), {"u": user_id, "v": video_uuid}).scalar_one()

    def import_video(self, channel_uuid, video_id: str):
        with transaction(self.engine) as conn:
            return conn.execute(sa.insert(Video).values(uuid=uuid.uuid4(), video_id=video_id, channel_id=channel_uuid,
                                                        title="imported by the app").returning(Video.uuid)).scalar_one()

    def follow(self, user_id: int, channel_uuid, active: bool = True) -> None:
        with transaction(self.engine) as conn:
            done = conn.execute(sa.update(UserChannel).where(
                UserChannel.user_id == user_id, UserChannel.channel_id == channel_uuid).values(
                is_active=active, updated_at=sa.func.now())).rowcount
            if not done:
                conn.execute(sa.insert(UserChannel).values(user_id=user_id, channel_id=channel_uuid, is_active=active))

    def close(self) -> None:
        self.engine.dispose()


def _due(world, users, n: int, videos: int = 3):
    return [world.add_channel(inactive=users[:2], videos=videos, watchers=users[:2],
                              orphaned_at=NOW - timedelta(days=9), soft_deleted_at=NOW - timedelta(days=8))
            for _ in range(n)]


def _videos_of(engine, channel_uuid) -> list:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(Video.uuid).where(Video.channel_id == channel_uuid)
                                 .order_by(Video.video_id)).scalars())


def _cycle(engine, now, instance=None):
    return dg.materialize(
        [*cleanup_assets, *cleanup_checks], partition_key=now.date().isoformat(), instance=instance,
        resources={"app_db": AppDatabase(database_url=engine.url.render_as_string(hide_password=False)),
                   "policy": PipelinePolicy()},
        run_config={"ops": {a.key.path[-1]: {"config": {"now": now.isoformat()}} for a in cleanup_assets}},
        raise_on_error=False)


def _checks(result) -> dict:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def _removed(result) -> dict:
    [event] = result.asset_materializations_for_node("removed_channels")
    return {k: v.value for k, v in event.metadata.items()}


def _unpreserved(engine) -> tuple[int, int]:
    """Channel-less videos without snapshot, and watch rows of channel-less videos without context."""
    with engine.connect() as conn:
        videos = conn.execute(sa.select(sa.func.count()).select_from(Video).where(
            Video.channel_id.is_(None), Video.original_channel_metadata.is_(None))).scalar_one()
        watch = conn.execute(sa.select(sa.func.count()).select_from(UserVideo).join(Video).where(
            Video.channel_id.is_(None), UserVideo.channel_context.is_(None))).scalar_one()
    return videos, watch


@pytest.fixture(autouse=True)
def _no_env_dry_run(monkeypatch):
    monkeypatch.delenv("CHANNEL_ASSETS_CLEANUP_DRY_RUN", raising=False)


def test_writes_between_the_snapshot_step_and_the_removal_are_its_own_work(world, engine, monkeypatch):
    users = world.add_users(6)
    due = _due(world, users, 4)
    videos, watch = world.count(Video), world.count(UserVideo)
    app = App(engine)
    real_snapshot_due = cleanup_assets_module.snapshot_due

    def snapshot_then_the_app_writes(*args, **kwargs):
        done = real_snapshot_due(*args, **kwargs)
        first, *_ = _videos_of(engine, due[1].uuid)
        assert app.watch(users[3], first)  # a new watch row on a video about to lose its channel
        assert not app.watch(users[0], first)  # a re-watch of a row the step gave its context
        imported = app.import_video(due[2].uuid, "new-upload")  # the app imports a video for a doomed channel
        assert app.watch(users[4], imported)
        app.follow(users[5], due[0].uuid)  # a re-follow arrives mid-cycle: it wins
        return done

    monkeypatch.setattr(cleanup_assets_module, "snapshot_due", snapshot_then_the_app_writes)
    result = _cycle(engine, DAY8)
    app.close()

    assert result.success and all(_checks(result).values()), _checks(result)
    assert _removed(result)["hard_deleted"] == 3
    assert world.channel(due[0].channel_id).soft_deleted_at is None  # restored, not deleted
    assert all(world.channel(ch.channel_id) is None for ch in due[1:])
    assert (world.count(Video), world.count(UserVideo)) == (videos + 1, watch + 2)  # nothing lost
    assert _unpreserved(engine) == (0, 0)


def test_rows_written_while_a_batch_deletes_are_preserved_and_the_batch_is_run_again(world, engine, monkeypatch):
    """Inside the deleting transaction: the app re-watches a video (a row the batch is about to give its
    context: PostgreSQL refuses the batch, it runs again); during the second run it records a new watch
    (invisible to the batch's snapshot: it gets its context right after the commit). No PreservationError,
    nothing refused for good."""
    users = world.add_users(4)
    due = _due(world, users, 2)
    videos, watch = world.count(Video), world.count(UserVideo)
    app = App(engine)
    real_detach = removal_module.detach_videos
    attempts = []

    def detach_then_the_app_writes(conn, ids, now):
        vids = real_detach(conn, ids, now)
        attempts.append(len(vids))
        if len(attempts) == 1:
            assert not app.watch(users[0], vids[0])  # an update of a row this batch has not touched yet
        else:
            assert app.watch(users[3], vids[1])  # a new row, after the batch's snapshot
        return vids

    monkeypatch.setattr(removal_module, "detach_videos", detach_then_the_app_writes)
    done = run_removal(engine, Cycle(DAY8), 7, LIMITS)
    app.close()

    assert len(attempts) == 2 and done.batches_refused == 0
    assert done.hard_deleted == 2 and done.watch_rows_late == 1
    assert (done.videos_before, done.watch_rows_before) == (done.videos_preserved, done.watch_rows_preserved)
    assert all(world.channel(ch.channel_id) is None for ch in due)
    assert (world.count(Video), world.count(UserVideo)) == (videos, watch + 1)
    assert _unpreserved(engine) == (0, 0)


def test_a_batch_the_database_keeps_refusing_is_left_for_the_next_cycle(world, engine, monkeypatch):
    users = world.add_users(2)
    due = _due(world, users, 2)
    monkeypatch.setattr(removal_module, "with_retries", _always_refused)
    first = run_removal(engine, Cycle(DAY8), 7, LIMITS)
    assert (first.hard_deleted, first.batches_refused) == (0, 1)
    assert all(world.channel(ch.channel_id) is not None for ch in due)  # untouched, not half-deleted
    monkeypatch.undo()
    second = run_removal(engine, Cycle(DAY8), 7, LIMITS)
    assert (second.hard_deleted, second.batches_refused) == (2, 0)


def _always_refused(engine, work, **kwargs):
    from channel_assets.db.core.engine import Refused

    raise Refused(4, RuntimeError("lock timeout"))


def test_a_whole_cleanup_cycle_under_app_traffic_keeps_every_row_and_every_check_green(world, engine):
    users = world.add_users(12)
    due = _due(world, users, 30, videos=2)
    videos, watch = world.count(Video), world.count(UserVideo)
    instance = dg.DagsterInstance.ephemeral()
    snapshot_due(engine, Cycle(DAY8), 7, LIMITS)  # yesterday's snapshots: the app then keeps writing
    stop, busy = threading.Event(), threading.Event()
    counts = {"watches": 0, "imports": 0, "follows": 0, "fk_on_deleted": 0, "ops": 0}
    lock, errors = threading.Lock(), []

    def app_traffic(seed: int) -> None:
        app, rng = App(engine), random.Random(seed)
        try:
            while not stop.is_set():
                ch = rng.choice(due)
                try:
                    kind = rng.random()
                    if kind < 0.6:
                        vids = _videos_of(engine, ch.uuid) or _preserved_videos(engine, ch.channel_id)
                        new = app.watch(rng.choice(users[2:]), rng.choice(vids)) if vids else False
                        with lock:
                            counts["watches"] += new
                    elif kind < 0.8:
                        app.import_video(ch.uuid, f"live-{seed}-{counts['ops']}")
                        with lock:
                            counts["imports"] += 1
                    else:
                        app.follow(rng.choice(users[2:]), ch.uuid, active=rng.random() < 0.3)
                        with lock:
                            counts["follows"] += 1
                except IntegrityError:  # the channel was hard-deleted first: the app re-creates it (not here)
                    with lock:
                        counts["fk_on_deleted"] += 1
                with lock:
                    counts["ops"] += 1
                    if counts["ops"] >= 40:
                        busy.set()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
            busy.set()
        finally:
            app.close()

    threads = [threading.Thread(target=app_traffic, args=(s,)) for s in range(3)]
    for t in threads:
        t.start()
    assert busy.wait(60)
    ops_before = counts["ops"]
    result = _cycle(engine, DAY8, instance)
    ops_during = counts["ops"] - ops_before
    stop.set()
    for t in threads:
        t.join(60)

    assert errors == []
    assert ops_during > 0  # the app really wrote while the cycle ran
    assert result.success and all(_checks(result).values()), (_checks(result), counts)
    removed = _removed(result)
    assert removed["hard_deleted"] > 0 and removed["batches_refused"] == 0
    left = [world.channel(ch.channel_id) for ch in due]
    assert all(row.soft_deleted_at is None for row in left if row is not None)  # kept only when followed again
    assert (world.count(Video), world.count(UserVideo)) == (videos + counts["imports"], watch + counts["watches"])
    fill_missing_watch_context(engine, DAY8, DAY8 + timedelta(days=1))  # the next cycle's sweep, for the last rows
    assert _unpreserved(engine) == (0, 0)


def _preserved_videos(engine, channel_id: str) -> list:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(Video.uuid).where(
            Video.channel_id.is_(None), Video.channel_id_snapshot == channel_id)).scalars())


def test_the_next_cycle_gives_a_watch_recorded_after_a_removal_its_context(world, engine):
    users = world.add_users(3)
    (gone,) = _due(world, users, 1)
    assert run_removal(engine, Cycle(DAY8), 7, LIMITS).hard_deleted == 1
    app = App(engine)
    assert app.watch(users[2], _preserved_videos(engine, gone.channel_id)[0])  # a user watches it afterwards
    app.close()
    assert _unpreserved(engine) == (0, 1)
    next_day = run_removal(engine, Cycle(DAY8 + timedelta(days=1)), 7, LIMITS)
    assert next_day.watch_rows_late == 1 and _unpreserved(engine) == (0, 0)


def test_a_follow_or_an_import_in_flight_never_waits_on_the_detection_the_soft_delete_or_the_snapshots(world, engine):
    """The app holds FOR KEY SHARE on doomed channels (a follow and a video import, not yet committed) while
    the detection, the soft delete and the snapshot step run: those lock only FOR NO KEY UPDATE, so they go
    through without waiting and the app's transaction is not blocked either (a pipeline on FOR UPDATE
    would wait out its lock timeout on every attempt and leave the page refused). The hard delete does
    wait for them; once the app commits, the re-follow wins and the imported video is preserved."""
    users = world.add_users(4)
    unmarked = [world.add_channel(inactive=users[:1], videos=2, watchers=users[:1]) for _ in range(3)]
    world.set_channel(unmarked[2].channel_id, orphaned_at=NOW - timedelta(days=9))
    pipeline = make_engine(engine.url.render_as_string(hide_password=False), lock_timeout_ms=300)
    app = make_engine(engine.url.render_as_string(hide_password=False), lock_timeout_ms=300)
    try:
        with transaction(app) as conn:  # a follow of one doomed channel, an import for another: in flight
            conn.execute(sa.insert(UserChannel).values(user_id=users[3], channel_id=unmarked[0].uuid, is_active=True))
            conn.execute(sa.insert(Video).values(uuid=uuid.uuid4(), video_id="imported-in-flight",
                                                 channel_id=unmarked[1].uuid, title="imported by the app"))
            detection = detect_orphans(pipeline, Cycle(NOW), NOW.date())
            removal = removal_module.soft_delete_orphans(pipeline, Cycle(NOW), LIMITS)
            snapshots = snapshot_due(pipeline, Cycle(DAY8), 7, LIMITS)
            assert (detection.new, removal.soft_deleted, removal.batches_refused) == (2, 3, 0)
            assert (snapshots.channels, snapshots.batches_refused) == (3, 0)
        result = run_removal(pipeline, Cycle(DAY8), 7, LIMITS)
    finally:
        pipeline.dispose()
        app.dispose()
    assert (result.hard_deleted, result.restored, result.batches_refused) == (2, 1, 0)
    assert world.channel(unmarked[0].channel_id).soft_deleted_at is None  # the re-follow won
    assert world.count(Video, Video.video_id == "imported-in-flight", Video.original_channel_metadata.is_not(None)) == 1
    assert _unpreserved(engine) == (0, 0)


def test_a_watch_recorded_after_the_last_batch_is_swept_in_the_same_cycle(world, engine, monkeypatch):
    """The app records a watch on a preserved video after the hard delete's last batch committed and before
    the sweep: the cycle's own sweep gives it its context, so the completeness check (rows committed before
    the sweep's horizon) finds nothing missing."""
    users = world.add_users(4)
    due = _due(world, users, 3)
    app = App(engine)
    real_hard_delete = removal_module.hard_delete_due

    def hard_delete_then_the_app_watches(*args, **kwargs):
        done = real_hard_delete(*args, **kwargs)
        [vid, *_] = _preserved_videos(engine, due[0].channel_id)
        assert app.watch(users[3], vid)
        return done

    monkeypatch.setattr(removal_module, "hard_delete_due", hard_delete_then_the_app_watches)
    done = run_removal(engine, Cycle(DAY8), 7, LIMITS)
    app.close()
    assert done.hard_deleted == 3 and done.watch_rows_late == 1
    assert removed_without_snapshot(engine, done.sweep_horizon) == (0, 0)
    assert _unpreserved(engine) == (0, 0)
