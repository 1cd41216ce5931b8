"""The due list's order within a tier: one row per heap page at a time across a window of pages, so a page's
rows go out in different write groups (each group's update then finds room on the page: HOT)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, text

from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import Video
from channel_assets.db.videos.selection import PAGE_KEY, PAGE_WINDOW, select_due_videos
from channel_assets.db.videos.tiering import VideoTierRules

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


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


def test_the_page_key_orders_by_window_then_line_pointer_then_page(engine):
    tids = [(0, 1), (1, 1), (PAGE_WINDOW - 1, 1), (0, 2), (PAGE_WINDOW - 1, 2), (0, 2047), (PAGE_WINDOW, 1), (PAGE_WINDOW, 3),
            (2 * PAGE_WINDOW + 5, 1), (2**32 - 1, 1), (2**32 - 2, 2047), (2**32 - 1, 2047)]
    values = ", ".join(f"(point({page}, {line}))" for page, line in tids)
    with engine.connect() as conn:
        keys = [k for (k,) in conn.execute(text(f"SELECT {PAGE_KEY} FROM (VALUES {values}) x(tid)"))]
    assert sorted(tids, key=lambda t: keys[tids.index(t)]) == tids
    assert len(set(keys)) == len(keys) and all(k == int(k) for k in keys)  # distinct and exact in float8
