"""Revision 0014: one videos_video (video_id, channel_id) index in place of 0003's (channel_id, video_id) and
0011's (video_id), built and dropped concurrently, idempotently and reversibly; the old ones go only once an
index on exactly (video_id, channel_id) serves, and an app's own index is never dropped. The queries the old
indexes served use the new one."""

from __future__ import annotations

from channel_assets.db.core import migrate
from channel_assets.db.core.engine import make_engine
from channel_assets.db.core.models import Video
from channel_assets_tests.migrations import downgrade, invalid_indexes, rerun_from

BEFORE_0014 = "0013_video_requested_partial"
NEW, OLD = "video_video_channel_idx", {"video_channel_video_idx", "video_video_id_idx"}
ID_INDEXES = NEW, *OLD, "app_video_channel", "app_video_id", "app_partial"


def _id_indexes(engine) -> dict[str, str]:
    """indexdef of the indexes on videos_video this revision is about (by name)."""
    with engine.connect() as conn:
        return dict(conn.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'videos_video' "
            "AND indexname = ANY(%(names)s)", {"names": list(ID_INDEXES)}).all())


def _plan(engine, sql: str) -> str:
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")  # an empty table: make the planner show its index
        return "\n".join(conn.exec_driver_sql(f"EXPLAIN {sql}").scalars())


def test_0014_replaces_the_two_indexes_by_one_idempotently_and_reversibly(pg_url):
    engine = make_engine(pg_url)
    try:
        migrate.upgrade(engine, BEFORE_0014)
        before = _id_indexes(engine)
        assert set(before) == OLD
        printed = migrate.plan_sql(engine)
        assert f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NEW} ON videos_video (video_id, channel_id)" in printed
        assert all(f"DROP INDEX CONCURRENTLY IF EXISTS {name}" in printed for name in OLD)

        migrate.upgrade(engine)
        after = _id_indexes(engine)
        assert list(after) == [NEW] and after[NEW].endswith("USING btree (video_id, channel_id)")
        assert NEW in {ix.name for ix in Video.__table__.indexes} and not OLD & {ix.name for ix in Video.__table__.indexes}
        assert migrate.check(engine) == ([], True)
        # The queries the old indexes served: a lookup by id, the uploads' probe by (channel link, id).
        assert NEW in _plan(engine, "SELECT uuid FROM videos_video WHERE video_id = ANY('{a,b}')")
        assert f"Index Only Scan using {NEW}" in _plan(
            engine, "SELECT 1 FROM videos_video WHERE channel_id = gen_random_uuid() AND video_id = 'a'")
        assert rerun_from(engine, BEFORE_0014) == (BEFORE_0014, migrate.head_revision())
        assert _id_indexes(engine) == after
        assert migrate.upgrade(engine) == (migrate.head_revision(), migrate.head_revision())

        downgrade(engine, BEFORE_0014)
        assert _id_indexes(engine) == before
        migrate.upgrade(engine)
        assert _id_indexes(engine) == after and migrate.check(engine) == ([], True)
        assert invalid_indexes(engine) == 0
    finally:
        engine.dispose()


def test_0014_drops_the_old_indexes_only_once_an_index_on_exactly_those_columns_serves(pg_url):
    """The app's own (video_id, channel_id) index serves (ours is not built, the old ones go); a partial one
    or one on (video_id) alone does not count: ours is built. The app's indexes are never dropped."""
    engine = make_engine(pg_url)
    try:
        migrate.upgrade(engine, BEFORE_0014)
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE INDEX app_partial ON videos_video (video_id, channel_id) "
                                 "WHERE channel_id IS NOT NULL")
            conn.exec_driver_sql("CREATE INDEX app_video_id ON videos_video (video_id)")
        migrate.upgrade(engine)
        assert set(_id_indexes(engine)) == {NEW, "app_partial", "app_video_id"}
        assert migrate.check(engine) == ([], True)

        downgrade(engine, BEFORE_0014)
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE INDEX app_video_channel ON videos_video (video_id, channel_id)")
        migrate.upgrade(engine)
        assert set(_id_indexes(engine)) == {"app_video_channel", "app_partial", "app_video_id"}
        assert migrate.check(engine) == ([], True)
    finally:
        engine.dispose()
