from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from channel_assets.db.core import migrate
from channel_assets.db.core.engine import make_engine
from channel_assets.db.core.models import Base

SEED_TABLES = {
    "users_user",
    "videos_channel",
    "users_userchannel",
    "videos_video",
    "users_uservideo",
    "channel_update_logs",
    "api_quota_ledger",
    "channel_statistics_daily",
    "channel_orphan_daily",
}


def test_upgrade_creates_schema_and_is_idempotent(db_url):
    engine = make_engine(db_url)
    before, after = migrate.upgrade(engine)
    assert before is None and after == migrate.head_revision()
    assert SEED_TABLES <= set(inspect(engine).get_table_names())
    assert migrate.upgrade(engine) == (after, after)
    engine.dispose()


def test_migrations_match_models_no_drift(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_indexes_that_deletes_and_cycles_rely_on_exist(engine):
    insp = inspect(engine)

    def leading(table):
        return {tuple(ix["column_names"])[0] for ix in insp.get_indexes(table)}

    # Foreign-key checks of a channel delete need full indexes led by the FK column.
    assert "channel_id" in leading("users_userchannel")
    assert "channel_id" in leading("videos_video")
    assert "video_id" in leading("users_uservideo")
    assert "shard" in leading("videos_channel")
    assert "updated_at" in leading("users_userchannel")


def test_upgrade_keeps_existing_rows(db_url):
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO users_user (id, username) VALUES (1, 'kept')")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT username FROM users_user").scalar_one() == "kept"
    engine.dispose()
