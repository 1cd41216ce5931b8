"""The due list a run spends: packed (a million due videos must fit the run's memory), the rows of one video
id side by side (a video id may be stored once per channel) so they ride in one videos.list batch, and the
budget cut counted in distinct ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import Video
from channel_assets.db.videos.selection import DueVideo, DueVideos, select_due_videos
from channel_assets.db.videos.tiering import VideoTierRules
from channel_assets.videos.refresh import _batches, plan_within_budget

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_packed_rows_read_back_as_they_went_in():
    rows = [DueVideo(uuid.uuid4(), f"id{n:09d}", tier) for n, tier in
            enumerate(["requested", "daily", "daily", "watched", "weekly", "monthly", "monthly"])]
    packed = DueVideos.of(rows)
    assert list(packed) == rows and len(packed) == 7 and packed[-1] == rows[-1]
    assert list(packed[2:5]) == rows[2:5]
    assert packed[5:].tier_counts() == {"monthly": 2}
    assert packed.tier_counts() == {"daily": 2, "monthly": 2, "requested": 1, "watched": 1, "weekly": 1}
    assert list(packed.keeping_ids(lambda vid: vid != "id000000003")) == rows[:3] + rows[4:]


def test_later_rows_of_an_id_move_up_beside_the_first():
    a, b, a2 = (DueVideo(uuid.uuid4(), vid, "daily") for vid in ("aaa", "bbb", "aaa"))
    assert list(DueVideos.of([a, b, a2])) == [a, a2, b]
    assert DueVideos.of([a, b, a2]).distinct_ids() == 2


def _store(engine) -> None:
    """130 old videos; one video id stored under two channels' snapshots, one copy new (daily), one old
    (monthly): a priority order alone would put its two rows far apart."""
    rows = [{"uuid": uuid.uuid4(), "video_id": f"old{n:08d}", "channel_id_snapshot": "UCa", "title": "",
             "published_at": NOW - timedelta(days=400)} for n in range(130)]
    rows += [{"uuid": uuid.uuid4(), "video_id": "twice000001", "channel_id_snapshot": snap, "title": "",
              "published_at": NOW - timedelta(days=age)} for snap, age in (("UCa", 2), ("UCb", 400))]
    with transaction(engine) as conn:
        conn.execute(insert(Video), rows)


def test_the_rows_of_one_id_are_adjacent_and_ride_in_one_batch(engine):
    _store(engine)
    due = select_due_videos(engine, range(16), NOW, VideoTierRules())
    ids = [v.video_id for v in due]
    first = ids.index("twice000001")
    assert len(due) == 132 and ids[first:first + 2] == ["twice000001"] * 2 and ids.count("twice000001") == 2
    assert due[first].tier == "daily" and due[first + 1].tier == "monthly"
    batches = list(_batches(due, False))
    assert [len(b.ids) for b in batches] == [50, 50, 31]
    assert [len(b.videos) for b in batches] == [51, 50, 31]
    assert sum(b.ids.count("twice000001") for b in batches) == 1
    assert [t for b in batches for t in b.tiers] == [v.tier for v in due]


def test_the_budget_cut_counts_distinct_ids_and_the_deferred_rows_by_tier(engine):
    _store(engine)
    due = select_due_videos(engine, range(16), NOW, VideoTierRules())
    planned, deferred = plan_within_budget(due, 2)  # one batch of 50 ids, one unit kept for the second pass
    assert planned.distinct_ids() == 50 and len(planned) == 51
    assert deferred == {"monthly": 81}
    everything, none = plan_within_budget(due, 3)
    assert len(everything) == 132 and none == {}


def test_rows_given_as_uuid_bytes_pack_alike_and_repeated_ids_are_grouped_in_first_seen_order():
    rows = [(uuid.uuid4(), vid, "daily") for vid in ("aaa", "bbb", "aaa", "ccc", "bbb", "aaa")]
    packed = DueVideos((u.bytes, vid, tier) for u, vid, tier in rows)
    assert [v.uuid for v in packed] == [u for u, _, _ in rows]
    grouped = packed.with_ids_adjacent()
    assert [v.video_id for v in grouped] == ["aaa", "aaa", "aaa", "bbb", "bbb", "ccc"]
    assert [v.uuid for v in grouped] == [rows[i][0] for i in (0, 2, 5, 1, 4, 3)]
    distinct = DueVideos(rows[:2])
    assert distinct.with_ids_adjacent() is distinct  # nothing repeated: nothing copied


def test_batches_carry_the_row_uuids_as_bytes():
    rows = [DueVideo(uuid.uuid4(), f"id{n:09d}", "daily") for n in range(3)]
    (batch,) = _batches(DueVideos.of(rows), False)
    assert batch.videos == [(v.uuid.bytes, v.video_id) for v in rows]


def test_the_packed_answer_keeps_any_id_the_app_wrote_and_every_tier(engine):
    odd = ["a,b;c", "tab\there", "ünïcødé ✓", "line\nbreak", "x" * 32]
    with transaction(engine) as conn:
        conn.execute(insert(Video), [{"uuid": uuid.uuid4(), "video_id": vid, "title": "",
                                      "published_at": NOW - timedelta(days=age)}
                                     for vid, age in zip(odd, (1, 30, 400, 400, 2), strict=True)])
    due = select_due_videos(engine, range(16), NOW, VideoTierRules())
    assert sorted((v.video_id, v.tier) for v in due) == sorted([
        ("a,b;c", "daily"), ("tab\there", "weekly"), ("ünïcødé ✓", "monthly"), ("line\nbreak", "monthly"),
        ("x" * 32, "daily")])
    with engine.connect() as conn:
        assert {v.uuid for v in due} == set(conn.execute(select(Video.uuid)).scalars())


def test_packed_columns_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="do not pack"):
        DueVideos.packed(b"\x00" * 32, ["a"], b"\x00")
