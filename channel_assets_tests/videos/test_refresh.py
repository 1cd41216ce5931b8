"""End to end against the emulator: counts and titles updated, one log row per batch, old->new."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, insert, select, text, update

from channel_assets.cycle import Cycle
from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import ChannelUpdateLog, Video, VideoRefreshSchedule
from channel_assets.db.videos.selection import DueVideo
from channel_assets.db.videos.tiering import VideoTierRules
from channel_assets.videos.refresh import refresh_video_shards, refresh_videos

RULES = VideoTierRules()
ALL = range(16)


def _cycle(world, n: int = 1) -> Cycle:
    return Cycle(world.now, f"run-{n}", "test")


def _refresh(engine, videos, client_factory, video_gate, n=1, **gate):
    gate = video_gate(**gate)
    client = client_factory(gate)
    return refresh_video_shards(engine, client, gate, _cycle(videos.world, n), ALL, RULES, in_flight=4)


def test_first_pass_stores_what_the_emulator_says(engine, videos, client_factory, video_gate):
    ids = videos.store()
    s = _refresh(engine, videos, client_factory, video_gate)
    truth = videos.truth(ids)
    rows = videos.rows()
    listed = [vid for vid in ids if truth[vid]["listed"]]
    assert s.due == len(ids) and s.answered == len(ids)
    assert s.quota_units == -(-len(ids) // 50) and s.videos_per_unit >= 49 * len(ids) / (50 * s.quota_units)
    for vid in listed:
        t, r = truth[vid], rows[vid]
        assert (r.title, r.description, r.view_count, r.like_count, r.comment_count) == (
            t["title"], t["description"], t["viewCount"], t["likeCount"], t["commentCount"])
        assert r.privacy_status == t["privacyStatus"] and r.upload_status == t["uploadStatus"]
        assert r.embeddable == t["embeddable"] and r.tags == (t["tags"] or None)
        assert r.metadata_refreshed_at == videos.world.now
    with engine.connect() as conn:
        logs = conn.execute(select(ChannelUpdateLog.changes_made, ChannelUpdateLog.api_quota_used).where(
            ChannelUpdateLog.update_type == "video_metadata")).all()
        scheduled = conn.execute(select(func.count()).select_from(VideoRefreshSchedule).where(
            VideoRefreshSchedule.due_at > videos.world.now)).scalar()
    assert len(logs) == s.batches and sum(units for _, units in logs) == s.quota_units
    assert sum(c["batch"]["asked"] for c, _ in logs) == len(ids)
    first = [c for c, _ in logs if "changes" in c]
    assert first and all(c["changes"][vid]["title"][0] == "as imported" for c in first for vid in c["changes"])
    for part in ("title", "description"):  # the summary's counts are the logged changes'
        assert getattr(s, f"{part}_changes") == sum(part in ch for c in first for ch in c["changes"].values()) > 0
    assert scheduled == len(ids)


def test_the_logged_changes_are_stored_lz4_compressed_where_the_server_has_it(engine, videos, client_factory,
                                                                             video_gate):
    videos.store()
    _refresh(engine, videos, client_factory, video_gate)
    with engine.connect() as conn:
        lz4 = conn.exec_driver_sql("SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                                   "WHERE name = 'default_toast_compression'").scalar()
        methods = set(conn.exec_driver_sql(
            "SELECT pg_column_compression(changes_made) FROM channel_update_logs "
            "WHERE update_type = 'video_metadata' AND changes_made ? 'changes'").scalars())
        session_default = conn.exec_driver_sql("SHOW default_toast_compression").scalar()
    assert methods - {None} == ({"lz4"} if lz4 else {"pglz"})  # some rows are big enough to be compressed
    assert session_default == "pglz"  # set for the write transaction only


def test_nothing_due_after_a_pass_and_changes_logged_old_to_new(engine, videos, client_factory, video_gate):
    ids = videos.store()
    _refresh(engine, videos, client_factory, video_gate)
    again = _refresh(engine, videos, client_factory, video_gate, n=2)
    assert again.due == 0 and again.quota_units == 0
    target, other = ids[3], ids[4]
    old_title, old_description = videos.rows()[target].title, videos.rows()[other].description
    videos.world.set_video_title(target, "A new title")
    videos.world.set_video_description(other, "A new description")
    videos.advance(28)  # past the monthly interval: every video is due
    s = _refresh(engine, videos, client_factory, video_gate, n=3)
    assert s.due > 0 and videos.rows()[target].title == "A new title"
    with engine.connect() as conn:
        logs = conn.execute(select(ChannelUpdateLog.changes_made).where(
            ChannelUpdateLog.update_type == "video_metadata", ChannelUpdateLog.run_id == "run-3")).scalars().all()
    changed = [(vid, c["changes"][vid]) for c in logs for vid in (target, other) if vid in c.get("changes", {})]
    assert sorted(changed) == sorted([(target, {"title": [old_title, "A new title"]}),
                                      (other, {"description": [old_description, "A new description"]})])


def test_a_row_with_a_malformed_video_id_is_counted_invalid_not_sent(engine, videos, client_factory, video_gate):
    ids = videos.store(channels=1, per_channel=3)
    with transaction(engine) as conn:
        conn.execute(insert(Video).values(uuid=uuid.uuid4(), video_id="not a video id", title="t", description=""))
    s = _refresh(engine, videos, client_factory, video_gate)
    assert s.invalid == 1 and s.answered == len(ids) and s.failed == 0


def test_written_counts_only_the_rows_whose_values_changed(engine, videos, client_factory, video_gate):
    videos.store()
    first = _refresh(engine, videos, client_factory, video_gate, n=1)
    videos.advance(0.01)  # a quarter of an hour: some counts move, most rows stay as they are
    gate = video_gate()
    with engine.connect() as conn:
        rows = [DueVideo(u, vid, "monthly") for u, vid in conn.execute(select(Video.uuid, Video.video_id))]
    second = refresh_videos(engine, client_factory(gate), gate, _cycle(videos.world, 2), rows, RULES, in_flight=4)
    with engine.connect() as conn:
        stamped = conn.execute(select(func.count()).select_from(Video).where(
            Video.metadata_refreshed_at == videos.world.now)).scalar()  # the rows the second run wrote
        logs = conn.execute(select(ChannelUpdateLog.run_id, ChannelUpdateLog.changes_made).where(
            ChannelUpdateLog.update_type == "video_metadata")).all()
    assert first.written == len(rows)  # every row the app imported gets YouTube's values
    assert 0 < second.written < len(rows) and second.written == stamped
    for run, summary in (("run-1", first), ("run-2", second)):
        batches = [c["batch"] for r, c in logs if r == run]
        assert len(batches) >= 2 and sum(b["written"] for b in batches) == summary.written
        assert all(b["written"] <= b["found"] + b["missing"] for b in batches)


def _wait_until_a_backend_waits_on_a_lock(engine, deadline_s: float = 30.0) -> None:
    stop = time.monotonic() + deadline_s
    with engine.connect() as conn:
        while conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                "AND wait_event_type = 'Lock'")).scalar() == 0:
            assert time.monotonic() < stop, "the write never waited for the app's row lock"
            time.sleep(0.02)
            conn.rollback()  # a fresh snapshot of pg_stat_activity for the next look


def test_a_link_the_app_changes_while_the_write_waits_for_the_row_is_kept(engine, videos, client_factory,
                                                                          video_gate):
    """The write assigns the link columns their own values (db.videos.writes._KEPT): the values of the row
    version it lands on, so the app's change, committed while the write waited for the row, stays."""
    ids = videos.store(channels=1, per_channel=3)
    moved = ids[0]
    # The app's connection closes (rolling back, should the test fail first) before the pool waits for the write.
    with ThreadPoolExecutor(1) as pool, engine.connect() as app:
        app.execute(update(Video).where(Video.video_id == moved).values(channel_id=None,
                                                                         channel_id_snapshot="UCmovedByTheApp"))
        running = pool.submit(_refresh, engine, videos, client_factory, video_gate)
        _wait_until_a_backend_waits_on_a_lock(engine)
        app.commit()
        summary = running.result(timeout=120)
    rows, truth = videos.rows(), videos.truth(ids)
    assert summary.written == len(ids)
    assert (rows[moved].channel_id, rows[moved].channel_id_snapshot) == (None, "UCmovedByTheApp")
    assert all(rows[vid].title == truth[vid]["title"] for vid in ids if truth[vid]["listed"])
    assert all(rows[vid].channel_id is not None for vid in ids[1:])
