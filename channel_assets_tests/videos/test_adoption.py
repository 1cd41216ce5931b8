"""Adoption on the schema Django made: revision 0010 adds only nullable columns and its indexes, sets the
fillfactor, and the video refresh runs on the app's own rows (imported by its ORM)."""

from __future__ import annotations

import sqlalchemy as sa

from channel_assets.cycle import Cycle
from channel_assets.db.core import migrate
from channel_assets.db.core.engine import make_engine
from channel_assets.db.refresh.quota_ledger import QuotaLedger
from channel_assets.db.videos.tiering import VideoTierRules
from channel_assets.refresh.quota_gate import CountingGate
from channel_assets.videos.refresh import refresh_video_shards
from channel_assets_tests.gallery.conftest import gallery_template, gallery_url, orm  # noqa: F401 - fixtures

NEW_VIDEO_COLUMNS = {"like_count", "comment_count", "tags", "thumbnail_url", "privacy_status", "upload_status",
                     "embeddable", "region_restriction", "unavailable_reason", "unavailable_at",
                     "unavailable_suspected_at", "metadata_refreshed_at", "metadata_refresh_requested_at"}


def test_adoption_adds_the_video_columns_and_the_refresh_runs_on_the_apps_rows(gallery_url, emulator,  # noqa: F811
                                                                               client_factory):
    world = emulator.world
    vids = [vid for vid, _ in world.uploads(0, 0, 5)]
    orm(gallery_url, "seed", {"users": ["ann"], "channels": [
        {"channel_id": world.channel_id(0), "active": [0], "videos": vids, "watchers": [0]}]})
    engine = make_engine(gallery_url)
    try:
        before = {c["name"]: c for c in sa.inspect(engine).get_columns("videos_video")}
        migrate.upgrade(engine)
        after = {c["name"]: c for c in sa.inspect(engine).get_columns("videos_video")}
        assert NEW_VIDEO_COLUMNS <= set(after) - set(before)
        assert all(after[c]["nullable"] and after[c]["default"] is None for c in NEW_VIDEO_COLUMNS)
        assert all((after[c]["nullable"], str(after[c]["type"])) == (b["nullable"], str(b["type"]))
                   for c, b in before.items() if c != "channel_id")
        with engine.connect() as conn:
            options = conn.exec_driver_sql("SELECT reloptions FROM pg_class WHERE relname = 'videos_video'").scalar()
            indexes = set(conn.exec_driver_sql("SELECT indexname FROM pg_indexes WHERE tablename IN "
                                               "('videos_video', 'users_uservideo')").scalars())
        assert options == ["fillfactor=80", "autovacuum_vacuum_scale_factor=0.02"]
        assert {"video_refresh_requested_idx", "users_uservideo_watched_idx"} <= indexes
        assert migrate.check(engine) == ([], True)

        gate = CountingGate(QuotaLedger(engine, 8_000, now=lambda: world.now, video_limit=2_000))
        s = refresh_video_shards(engine, client_factory(gate), gate, Cycle(world.now, "r1", "test"), range(16),
                                 VideoTierRules(), in_flight=2)
        assert s.due == 5 and s.answered == 5
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT video_id, title, view_count, channel_id IS NOT NULL FROM videos_video"
                                        ).all()
            watch_rows = conn.exec_driver_sql("SELECT count(*) FROM users_uservideo").scalar()
        truth = {vid: world.video_truth(vid) for vid in vids}
        assert {r[0]: (r[1], r[2], r[3]) for r in rows} == {
            vid: (t["title"], t["viewCount"], True) for vid, t in truth.items()}
        assert watch_rows == 5
    finally:
        engine.dispose()
