"""The video tiers: one definition labels the selection; due by the schedule, by a watch, by a request."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, update

from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import User, UserVideo, Video, VideoRefreshSchedule
from channel_assets.db.videos.selection import request_refresh, select_due_videos
from channel_assets.db.videos.tiering import VideoTierRules
from channel_assets.videos.tiers import video_tier_rules

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
RULES = VideoTierRules()
ALL = range(16)
AGES = {"aaaaaaaaaa1": 2, "aaaaaaaaaa2": 30, "aaaaaaaaaa3": 400, "aaaaaaaaaa4": 400, "aaaaaaaaaa5": 400}


def _store(engine, refreshed_days_ago: float) -> dict[str, uuid.UUID]:
    """Videos of the ages above, each last refreshed `refreshed_days_ago`, next due by its age tier."""
    uuids = {vid: uuid.uuid4() for vid in AGES}
    refreshed = NOW - timedelta(days=refreshed_days_ago)
    interval = {2: 1, 30: 7, 400: 27}
    with transaction(engine) as conn:
        conn.execute(insert(Video), [{"uuid": u, "video_id": vid, "title": vid, "description": "",
                                      "published_at": NOW - timedelta(days=AGES[vid])} for vid, u in uuids.items()])
        conn.execute(insert(VideoRefreshSchedule), [
            {"video_uuid": u, "shard": 0, "refreshed_at": refreshed,
             "due_at": refreshed + timedelta(days=interval[AGES[vid]])} for vid, u in uuids.items()])
    return uuids


def _due(engine, now=NOW, rules=RULES) -> dict[str, str]:
    return {v.video_id: v.tier for v in select_due_videos(engine, ALL, now, rules)}


def test_due_by_age_tier(engine):
    _store(engine, refreshed_days_ago=1.5)
    assert _due(engine) == {"aaaaaaaaaa1": "daily"}
    # six days on, the 2-day-old video is 8 days old: weekly now
    assert _due(engine, NOW + timedelta(days=6)) == {"aaaaaaaaaa1": "weekly", "aaaaaaaaaa2": "weekly"}
    later = _due(engine, NOW + timedelta(days=26))
    assert later["aaaaaaaaaa3"] == "monthly" and len(later) == 5


def test_a_video_watched_in_the_window_is_due_weekly(engine):
    uuids = _store(engine, refreshed_days_ago=8)
    with transaction(engine) as conn:
        uid = conn.execute(insert(User).values(username="w").returning(User.id)).scalar()
        conn.execute(insert(UserVideo), [
            {"user_id": uid, "video_id": uuids["aaaaaaaaaa3"], "is_watched": True, "watched_at": NOW - timedelta(days=3)},
            {"user_id": uid, "video_id": uuids["aaaaaaaaaa4"], "is_watched": True, "watched_at": NOW - timedelta(days=40)}])
    due = _due(engine)
    assert due["aaaaaaaaaa3"] == "watched" and "aaaaaaaaaa4" not in due  # a watch 40 days ago is outside
    assert "aaaaaaaaaa3" not in _due(engine, rules=video_tier_rules(watched_days=2))


def test_requested_is_due_next_run_and_spent_first(engine):
    _store(engine, refreshed_days_ago=0.5)
    assert _due(engine) == {}
    assert request_refresh(engine, ["aaaaaaaaaa5"], NOW) == 1
    assert request_refresh(engine, ["aaaaaaaaaa5"], NOW) == 0  # already requested: the first time is kept
    due = select_due_videos(engine, ALL, NOW + timedelta(days=1), RULES)
    assert [(v.video_id, v.tier) for v in due][:2] == [("aaaaaaaaaa5", "requested"), ("aaaaaaaaaa1", "daily")]


def test_a_video_the_app_just_inserted_is_due_at_once(engine):
    with transaction(engine) as conn:
        conn.execute(insert(Video).values(uuid=uuid.uuid4(), video_id="bbbbbbbbbb1", title="t", description="",
                                          published_at=NOW - timedelta(days=200)))
    assert _due(engine) == {"bbbbbbbbbb1": "monthly"}


def test_the_thresholds_are_settings(engine):
    _store(engine, refreshed_days_ago=1.5)
    with transaction(engine) as conn:
        conn.execute(update(VideoRefreshSchedule).values(due_at=NOW - timedelta(days=1)))
    assert _due(engine, rules=video_tier_rules(new_days=60))["aaaaaaaaaa2"] == "daily"
    assert _due(engine, rules=video_tier_rules(new_days=1, recent_days=10))["aaaaaaaaaa2"] == "monthly"


def test_within_a_tier_never_refreshed_first_then_the_longest_unrefreshed(engine):
    uuids = _store(engine, refreshed_days_ago=40)  # all due; three of them monthly
    with transaction(engine) as conn:
        for vid, refreshed in (("aaaaaaaaaa3", NOW - timedelta(days=35)), ("aaaaaaaaaa4", None),
                               ("aaaaaaaaaa5", NOW - timedelta(days=50))):
            conn.execute(update(VideoRefreshSchedule).where(VideoRefreshSchedule.video_uuid == uuids[vid])
                         .values(refreshed_at=refreshed))
    due = [(v.video_id, v.tier) for v in select_due_videos(engine, ALL, NOW, RULES)]
    assert due == [("aaaaaaaaaa1", "daily"), ("aaaaaaaaaa2", "weekly"), ("aaaaaaaaaa4", "monthly"),
                   ("aaaaaaaaaa5", "monthly"), ("aaaaaaaaaa3", "monthly")]
