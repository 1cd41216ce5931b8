"""Revision 0011_video_requests: video_ids, the kind CHECK with 'video_refresh' and videos_video(video_id),
added by the upgrade and removed by the downgrade (from head, through 0014's, which replaces the index);
`db check` is clean at head."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from channel_assets.db.core import migrate
from channel_assets.db.core.engine import make_engine
from channel_assets_tests.migrations import downgrade

INSERT = "INSERT INTO channel_pipeline_requests (kind, requested_by) VALUES (:kind, 'staff:t')"


def _state(engine) -> tuple[set[str], set[str], str]:
    insp = inspect(engine)
    columns = {c["name"] for c in insp.get_columns("channel_pipeline_requests")}
    indexes = {ix["name"] for ix in insp.get_indexes("videos_video")}
    with engine.connect() as conn:
        check = conn.execute(text("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                                  "WHERE conname = 'channel_pipeline_requests_kind_check'")).scalar_one()
    return columns, indexes, check


def test_upgrade_adds_the_column_the_check_value_and_the_index_downgrade_removes_them(pg_url):
    engine = make_engine(pg_url)
    try:
        migrate.upgrade(engine, "0010_video_metadata")
        columns, indexes, check = _state(engine)
        assert "video_ids" not in columns and "video_video_id_idx" not in indexes and "video_refresh" not in check

        migrate.upgrade(engine, "0011_video_requests")
        columns, indexes, check = _state(engine)
        assert "video_ids" in columns and "video_video_id_idx" in indexes and "video_refresh" in check
        with engine.connect() as conn:
            indexdef = conn.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'video_video_id_idx'"
                                         )).scalar_one()
            valid = conn.execute(text("SELECT convalidated FROM pg_constraint "
                                      "WHERE conname = 'channel_pipeline_requests_kind_check'")).scalar_one()
        assert indexdef.endswith("(video_id)") and valid
        migrate.upgrade(engine)
        columns, indexes, check = _state(engine)  # revision 0014 serves the lookups by id from its own index
        assert "video_ids" in columns and "video_video_id_idx" not in indexes and "video_video_channel_idx" in indexes
        assert migrate.check(engine) == ([], True)
        with engine.begin() as conn:
            conn.execute(text(INSERT), {"kind": "video_refresh"})
            conn.execute(text(INSERT), {"kind": "refresh"})

        downgrade(engine, "0010_video_metadata")
        columns, indexes, check = _state(engine)
        assert "video_ids" not in columns and "video_video_id_idx" not in indexes and "video_refresh" not in check
        with engine.connect() as conn:
            kinds = conn.execute(text("SELECT kind FROM channel_pipeline_requests")).scalars().all()
        assert kinds == ["refresh"]  # the video requests went with their column
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(INSERT), {"kind": "video_refresh"})
    finally:
        engine.dispose()
