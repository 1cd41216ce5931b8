"""The due list's order within a tier: one row per heap page at a time across a window of pages, so a page's
rows go out in different write groups (each group's update then finds room on the page: HOT); the window is
smaller for rows never refreshed (they grow and leave their page anyway; a small window stays cached)."""

from __future__ import annotations

import os
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, text

from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import Video, VideoRefreshSchedule
from channel_assets.db.videos.selection import (
    DUE_PAGE_KEY,
    FIRST_WINDOW,
    PAGE_WINDOW,
    SHARD_SQL,
    _due_part,
    _packed,
    page_key,
    select_due_videos,
)
from channel_assets.db.videos.tiering import VideoTierRules

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
EVEN, ODD = list(range(0, 16, 2)), list(range(1, 16, 2))


def test_a_pages_rows_are_spread_over_the_list_one_per_page_at_a_time(engine):
    # ~1.5 KB of incompressible description each: a handful of rows per 8 KB page, 14 rows over several pages
    rows = [{"uuid": uuid.uuid4(), "video_id": f"pg{n:09d}", "title": "", "description": os.urandom(700).hex(),
             "published_at": NOW - timedelta(days=400)} for n in range(14)]
    with transaction(engine) as conn:
        conn.execute(insert(Video), rows)
        where = {vid: tuple(map(int, tid.strip("()").split(","))) for vid, tid in
                 conn.execute(text("SELECT video_id, ctid::text FROM videos_video"))}
    pages = {page for page, _ in where.values()}
    assert len(pages) >= 3, f"the rows should span several pages: {where}"
    due = [v.video_id for v in select_due_videos(engine, range(16), NOW, VideoTierRules())]
    assert due == sorted(where, key=lambda vid: (where[vid][1], where[vid][0]))  # line pointer, then page
    assert [where[vid][0] for vid in due[:len(pages)]] == sorted(pages)  # each page's first row, page by page


@pytest.mark.parametrize("window", [FIRST_WINDOW, PAGE_WINDOW])
def test_the_page_key_orders_by_window_then_line_pointer_then_page(engine, window):
    tids = [(0, 1), (1, 1), (window - 1, 1), (0, 2), (window - 1, 2), (0, 2047), (window, 1), (window, 3),
            (2 * window + 5, 1), (2**32 - 1, 1), (2**32 - 2, 2047), (2**32 - 1, 2047)]
    values = ", ".join(f"(point({page}, {line}))" for page, line in tids)
    with engine.connect() as conn:
        keys = [k for (k,) in conn.execute(text(f"SELECT {page_key(window)} FROM (VALUES {values}) x(tid)"))]
    assert sorted(tids, key=lambda t: keys[tids.index(t)]) == tids
    assert len(set(keys)) == len(keys) and all(k == int(k) for k in keys)  # distinct and exact in float8


def test_a_never_refreshed_row_is_keyed_in_the_small_window_a_refreshed_one_in_the_large(engine):
    """(page 0, line 2) and (page FIRST_WINDOW, line 1): different small windows, one large window."""
    tids = [(0, 2), (FIRST_WINDOW, 1)]
    with engine.connect() as conn:
        def order(refreshed: str) -> list[tuple[int, int]]:
            values = ", ".join(f"(point({p}, {n}), '{refreshed}'::timestamptz)" for p, n in tids)
            keys = conn.execute(text(f"SELECT {DUE_PAGE_KEY} FROM (VALUES {values}) x(tid, refreshed)")).scalars().all()
            return [t for _, t in sorted(zip(keys, tids, strict=True))]
        assert order("-infinity") == [(0, 2), (FIRST_WINDOW, 1)]  # window 0 before window 1
        assert order("2026-05-01T00:00:00Z") == [(FIRST_WINDOW, 1), (0, 2)]  # line 1 before line 2


def test_the_two_halves_merged_are_the_one_statements_list(engine):
    """select_due_videos selects two halves of the shards at once and merges them on the sort keys: the same
    list, row for row, as one statement over all the shards, across tiers, refreshed times and pages."""
    rng = random.Random(7)
    videos, schedule = [], []
    for n in range(400):
        row = {"uuid": uuid.uuid4(), "video_id": f"mx{n:09d}", "title": "", "description": "d" * rng.randrange(0, 900),
               "published_at": NOW - timedelta(days=rng.choice([2, 30, 400])), "channel_id_snapshot": "UCa",
               "metadata_refresh_requested_at": NOW - timedelta(hours=1) if n % 17 == 0 else None}
        videos.append(row)
        if n % 3:  # the others get their schedule row from the selection itself: never refreshed
            refreshed = NOW - timedelta(days=rng.randrange(30, 60), seconds=rng.randrange(3))
            schedule.append({"video_uuid": row["uuid"], "shard": 0, "refreshed_at": refreshed,
                             "due_at": refreshed + timedelta(days=27)})
    videos.append(dict(videos[5], uuid=uuid.uuid4(), channel_id_snapshot="UCb"))  # one id stored twice
    with transaction(engine) as conn:
        conn.execute(insert(Video), videos)
        conn.execute(insert(VideoRefreshSchedule), schedule)
        conn.execute(text(f"UPDATE video_refresh_schedule SET shard = {SHARD_SQL.format(v='v')} FROM videos_video v "
                          "WHERE v.uuid = video_uuid"))
    merged = select_due_videos(engine, range(16), NOW, VideoTierRules())
    halves = [_due_part(engine, shards, NOW, VideoTierRules(), keyed=True) for shards in (EVEN, ODD)]
    assert all(half[0] is not None for half in halves), "both halves must hold rows"
    one = _packed(_due_part(engine, list(range(16)), NOW, VideoTierRules(), keyed=False)).with_ids_adjacent()
    assert len(merged) == len(one) == 401
    assert list(merged) == list(one)
    assert {v.tier for v in merged} == {"requested", "daily", "weekly", "monthly"}
