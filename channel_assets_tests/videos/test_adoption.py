"""Adoption on the schema Django made: revision 0010 adds only nullable columns and its indexes, sets the
fillfactor, and the video refresh runs on the app's own rows (imported by its ORM). Revision 0013 makes the
requested-refresh index partial, concurrently, idempotently and reversibly."""

from __future__ import annotations

import sqlalchemy as sa

from channel_assets.cycle import Cycle
from channel_assets.db.core import migrate
from channel_assets.db.core.engine import make_engine
from channel_assets.db.core.models import Video
from channel_assets.db.refresh.quota_ledger import QuotaLedger
from channel_assets.db.videos.tiering import VideoTierRules
from channel_assets.refresh.quota_gate import CountingGate
from channel_assets.videos.refresh import refresh_video_shards
from channel_assets_tests.gallery.conftest import gallery_template, gallery_url, orm  # noqa: F401 - fixtures
from channel_assets_tests.migrations import downgrade, invalid_indexes, rerun_from

OLD_INDEX, PARTIAL_INDEX = "video_refresh_requested_idx", "video_refresh_requested_partial_idx"
PARTIAL_WHERE = "WHERE (metadata_refresh_requested_at IS NOT NULL)"
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
        assert {"video_refresh_requested_partial_idx", "users_uservideo_watched_idx"} <= indexes
        assert "video_refresh_requested_idx" not in indexes  # 0010's full index, replaced by 0013
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


def _requested_indexes(engine) -> dict[str, str]:
    """indexdef of every index on videos_video(metadata_refresh_requested_at), by name."""
    with engine.connect() as conn:
        return dict(conn.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'videos_video' "
            "AND indexdef LIKE '%%(metadata_refresh_requested_at)%%'").all())


def test_0013_replaces_the_full_requested_index_by_a_partial_one_idempotently_and_reversibly(pg_url):
    engine = make_engine(pg_url)
    try:
        migrate.upgrade(engine, "0012_video_autovacuum")
        full = _requested_indexes(engine)
        assert list(full) == [OLD_INDEX] and "WHERE" not in full[OLD_INDEX]
        printed = migrate.plan_sql(engine)
        assert (f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {PARTIAL_INDEX} ON videos_video "
                "(metadata_refresh_requested_at) WHERE metadata_refresh_requested_at IS NOT NULL") in printed
        assert f"DROP INDEX CONCURRENTLY IF EXISTS {OLD_INDEX}" in printed

        migrate.upgrade(engine)
        partial = _requested_indexes(engine)
        assert list(partial) == [PARTIAL_INDEX] and partial[PARTIAL_INDEX].endswith(PARTIAL_WHERE)
        modelled = {ix.name: ix.dialect_options["postgresql"]["where"] for ix in Video.__table__.indexes}
        assert f"WHERE ({modelled[PARTIAL_INDEX]})" == PARTIAL_WHERE  # autogenerate does not compare predicates
        assert migrate.check(engine) == ([], True)
        assert rerun_from(engine, "0012_video_autovacuum") == ("0012_video_autovacuum", migrate.head_revision())
        assert _requested_indexes(engine) == partial
        assert migrate.upgrade(engine) == (migrate.head_revision(), migrate.head_revision())

        downgrade(engine, "0012_video_autovacuum")
        assert _requested_indexes(engine) == full
        migrate.upgrade(engine)
        assert _requested_indexes(engine) == partial and migrate.check(engine) == ([], True)
        assert invalid_indexes(engine) == 0
    finally:
        engine.dispose()


def test_0013_keeps_the_full_index_unless_a_partial_index_serves_the_requested_query(pg_url):
    """Adoption counts any partial index on the column as present: the app's own with another WHERE is no
    substitute (the full index stays); with the same WHERE it is (the full index goes, ours is not built)."""
    engine = make_engine(pg_url)
    try:
        migrate.upgrade(engine, "0012_video_autovacuum")
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE INDEX app_requested ON videos_video (metadata_refresh_requested_at) "
                                 "WHERE metadata_refresh_requested_at > '2020-01-01'")
        migrate.upgrade(engine)
        assert set(_requested_indexes(engine)) == {"app_requested", OLD_INDEX}
        assert migrate.check(engine) == ([], True)

        with engine.begin() as conn:
            conn.exec_driver_sql("DROP INDEX app_requested")
            conn.exec_driver_sql("CREATE INDEX app_requested ON videos_video (metadata_refresh_requested_at) "
                                 "WHERE metadata_refresh_requested_at IS NOT NULL")
        assert rerun_from(engine, "0012_video_autovacuum") == ("0012_video_autovacuum", migrate.head_revision())
        assert set(_requested_indexes(engine)) == {"app_requested"}
        assert migrate.check(engine) == ([], True)
    finally:
        engine.dispose()
