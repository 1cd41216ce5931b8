"""Availability without loss: one answer is not believed, a second marks the video with its reason and
time; nothing is deleted; a video that comes back is available again."""

from __future__ import annotations

import uuid

from sqlalchemy import func, insert, select

from channel_assets.cycle import Cycle
from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import ChannelUpdateLog, User, UserVideo, Video
from channel_assets.db.videos.selection import DueVideo
from channel_assets.db.videos.tiering import VideoTierRules
from channel_assets.videos.refresh import refresh_video_shards, refresh_videos

RULES = VideoTierRules()


def _one_pass_of(engine, videos, client_factory, video_gate, rows, run="one-pass"):
    """A run whose second pass never happens: the videos asked once (the first pass only)."""
    gate = video_gate()
    client = client_factory(gate)
    from channel_assets.videos import refresh as r

    refresher = r._Refresher(engine, client, gate, Cycle(videos.world.now, run, "test"), RULES, 2)
    try:
        refresher.pump.run(r._batches(rows, False))
    finally:
        refresher.pump.close()
        gate.release()
    return refresher.summary, [(uuid.UUID(bytes=u), vid) for u, vid, _ in refresher.to_confirm]


def _all(engine, videos) -> list[DueVideo]:
    with engine.connect() as conn:
        return [DueVideo(u, vid, "monthly") for u, vid in conn.execute(select(Video.uuid, Video.video_id))]


def _full(engine, videos, client_factory, video_gate, run):
    gate = video_gate()
    return refresh_video_shards(engine, client_factory(gate), gate, Cycle(videos.world.now, run, "test"),
                                range(16), RULES, in_flight=2)


def _watch(engine, video_uuid) -> None:
    with transaction(engine) as conn:
        uid = conn.execute(insert(User).values(username="u1").returning(User.id)).scalar()
        conn.execute(insert(UserVideo).values(user_id=uid, video_id=video_uuid, is_watched=True))


def test_one_pass_is_not_believed(engine, videos, client_factory, video_gate):
    ids = videos.store(channels=2, per_channel=5)
    videos.set_status(ids[0], "deleted")
    videos.set_status(ids[1], "rejected:copyright")
    s, suspected = _one_pass_of(engine, videos, client_factory, video_gate, _all(engine, videos))
    rows = videos.rows()
    assert {vid for _, vid in suspected} == {ids[0], ids[1]} and s.suspected == 2
    assert rows[ids[0]].unavailable_reason is None and rows[ids[0]].unavailable_suspected_at == videos.world.now
    assert rows[ids[1]].unavailable_reason is None and rows[ids[1]].upload_status == "rejected"
    assert s.went == 0


def test_second_pass_confirms_with_reason_and_time_and_nothing_is_deleted(engine, videos, client_factory, video_gate):
    ids = videos.store(channels=2, per_channel=6)
    _watch(engine, videos.rows()[ids[0]].uuid)
    videos.set_status(ids[0], "deleted")
    videos.set_status(ids[1], "private")
    videos.set_status(ids[2], "rejected:copyright")
    videos.set_status(ids[3], "failed:codec")
    videos.set_status(ids[4], "blocked:DE,FR")
    with engine.connect() as conn:
        before = (conn.execute(select(func.count()).select_from(Video)).scalar(),
                  conn.execute(select(func.count()).select_from(UserVideo)).scalar())
    s = _full(engine, videos, client_factory, video_gate, "r1")
    rows = videos.rows()
    assert s.suspected == 5 and s.went == 5
    assert {vid: rows[vid].unavailable_reason for vid in ids[:5]} == {
        ids[0]: "deleted", ids[1]: "deleted", ids[2]: "rejected", ids[3]: "failed", ids[4]: "region-blocked"}
    assert all(rows[vid].unavailable_at == videos.world.now for vid in ids[:5])
    assert all(rows[vid].unavailable_reason is None for vid in ids[5:])
    assert all(rows[vid].channel_id is not None for vid in ids)  # the channel link is untouched
    with engine.connect() as conn:
        after = (conn.execute(select(func.count()).select_from(Video)).scalar(),
                 conn.execute(select(func.count()).select_from(UserVideo)).scalar())
        went = conn.execute(select(ChannelUpdateLog.changes_made).where(
            ChannelUpdateLog.update_type == "video_availability")).scalars().all()
    assert before == after
    assert sorted(c["video_id"] for c in went) == sorted(ids[:5])


def test_a_suspicion_a_run_left_is_confirmed_by_the_next_run(engine, videos, client_factory, video_gate):
    ids = videos.store(channels=1, per_channel=4)
    videos.set_status(ids[0], "deleted")
    _one_pass_of(engine, videos, client_factory, video_gate, _all(engine, videos))
    gate = video_gate()
    rows = [v for v in _all(engine, videos) if v.video_id == ids[0]]
    s = refresh_videos(engine, client_factory(gate), gate, Cycle(videos.world.now, "r2", "test"), rows, RULES)
    assert s.went == 1 and videos.rows()[ids[0]].unavailable_reason == "deleted"


def test_a_video_that_comes_back_is_available_again(engine, videos, client_factory, video_gate):
    ids = videos.store(channels=1, per_channel=4)
    videos.set_status(ids[0], "private")
    _full(engine, videos, client_factory, video_gate, "r1")
    assert videos.rows()[ids[0]].unavailable_reason == "deleted"
    videos.set_status(ids[0], "public")
    videos.advance(8)  # the unavailable recheck (7 days)
    s = _full(engine, videos, client_factory, video_gate, "r2")
    row = videos.rows()[ids[0]]
    assert s.came_back == 1 and row.unavailable_reason is None and row.unavailable_at is None
    assert s.came_back_list == [(ids[0], "deleted")]


def test_a_blip_between_passes_is_not_believed(engine, videos, client_factory, video_gate):
    ids = videos.store(channels=1, per_channel=3)
    videos.set_status(ids[0], "deleted")
    _, suspected = _one_pass_of(engine, videos, client_factory, video_gate, _all(engine, videos))
    videos.set_status(ids[0], "public")
    gate = video_gate()
    s = refresh_videos(engine, client_factory(gate), gate, Cycle(videos.world.now, "r2", "test"),
                       [DueVideo(u, vid, "monthly") for u, vid in suspected], RULES)
    row = videos.rows()[ids[0]]
    assert s.went == 0 and row.unavailable_reason is None and row.unavailable_suspected_at is None


def test_second_answers_are_asked_during_the_first_pass_in_full_calls(engine, videos, client_factory, video_gate,
                                                                      monkeypatch):
    from channel_assets.videos import refresh as r

    monkeypatch.setattr(r, "MAX_GROUP", 2)  # small write groups: the pump writes (and learns) while it asks
    ids = videos.store(channels=60, per_channel=25)[:1_100]
    assert len(ids) == 1_100
    gone = set(ids[:100])  # the first two first-pass batches: every video deleted
    for vid in gone:
        videos.set_status(vid, "deleted")
    with engine.connect() as conn:
        uuid_of = dict(conn.execute(select(Video.video_id, Video.uuid)).all())
    gate = video_gate()
    client = client_factory(gate)
    calls: list[list[str]] = []
    list_video_details = client.list_video_details

    def recording(batch_ids):
        calls.append(list(batch_ids))
        return list_video_details(batch_ids)

    client.list_video_details = recording
    s = refresh_videos(engine, client, gate, Cycle(videos.world.now, "r1", "test"),
                       [DueVideo(uuid_of[vid], vid, "monthly") for vid in ids], RULES, in_flight=1)
    assert s.suspected == 100 and s.went == 100 and s.quota_units == 24  # 22 first-pass calls, 2 second-pass
    asked_again = [n for n, batch in enumerate(calls) if n >= 2 and set(batch) <= gone]
    assert len(asked_again) == 2 and all(len(calls[n]) == 50 for n in asked_again)
    assert asked_again[-1] < len(calls) - 5  # before the first pass ended, not after it
    assert all(videos.rows()[vid].unavailable_reason == "deleted" for vid in gone)
