"""`db upgrade` on the schema Django made: adopts it, changes only what it must, is idempotent."""


import psycopg
import pytest
import sqlalchemy as sa

from channel_assets.cli.main import main
from channel_assets.db.core import migrate
from channel_assets.db.core.adoption import IncompatibleSchemaError
from channel_assets.db.core.engine import make_engine
from channel_assets.db.demo_data import DatabaseNotEmptyError
from channel_assets.demo_seed import seed_demo

from .conftest import django


def _columns(engine) -> dict[str, dict[str, tuple]]:
    insp = sa.inspect(engine)
    return {t: {c["name"]: (str(c["type"]), c["nullable"], c["default"]) for c in insp.get_columns(t)}
            for t in ("users_user", "videos_channel", "users_userchannel", "videos_video", "users_uservideo")}


@pytest.fixture
def gallery_engine(gallery_url):
    engine = make_engine(gallery_url)
    yield engine
    engine.dispose()


def test_upgrade_adopts_the_django_schema_changing_only_what_seed_000_changes(gallery_engine, gallery_url):
    before = _columns(gallery_engine)
    assert migrate.check(gallery_engine)[1] is False

    assert migrate.upgrade(gallery_engine) == (None, migrate.head_revision())
    after = _columns(gallery_engine)
    for table, cols in before.items():
        for name, (type_, nullable, default) in cols.items():
            if (table, name) == ("videos_video", "channel_id"):  # seed 000's AlterField(null=True)
                assert after[table][name] == (type_, True, default)
            else:
                assert after[table][name] == (type_, nullable, default), (table, name)
    added = {t: set(after[t]) - set(before[t]) for t in after}
    assert {"shard", "next_refresh_at", "soft_deleted_at", "orphaned_at"} <= added["videos_channel"]
    assert added["users_user"] == set() and added["users_userchannel"] == set()
    assert added["videos_video"] == {"duration", "view_count", "like_count", "comment_count", "tags", "thumbnail_url",
                                     "privacy_status", "upload_status", "embeddable", "region_restriction",
                                     "unavailable_reason", "unavailable_at", "unavailable_suspected_at",
                                     "metadata_refreshed_at", "metadata_refresh_requested_at"}  # 0010: the video refresh
    assert all(after["videos_video"][c][1] and after["videos_video"][c][2] is None
               for c in added["videos_video"])  # nullable, no default: no row rewritten
    assert all(after["videos_channel"][c][1] or after["videos_channel"][c][2] is not None
               for c in added["videos_channel"])  # the app's INSERTs never name them
    with gallery_engine.connect() as conn:
        invalid = conn.exec_driver_sql("SELECT count(*) FROM pg_index WHERE NOT indisvalid").scalar_one()
    assert invalid == 0
    assert migrate.check(gallery_engine) == ([], True)
    assert migrate.upgrade(gallery_engine) == (migrate.head_revision(), migrate.head_revision())
    assert _columns(gallery_engine) == after
    assert django(gallery_url, "makemigrations", "--check", "--dry-run").returncode == 0


def test_sql_prints_only_what_this_database_misses(gallery_engine, pg_url):
    on_app = migrate.plan_sql(gallery_engine)
    assert "CREATE TABLE channel_update_logs" in on_app and "CREATE TABLE videos_channel" not in on_app
    assert "ADD COLUMN IF NOT EXISTS shard SMALLINT" in on_app
    assert "ALTER TABLE videos_video ALTER COLUMN channel_id DROP NOT NULL" not in on_app  # Django made it nullable
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS channel_shard_due_idx ON videos_channel" in on_app
    assert migrate.current_revision(gallery_engine) is None  # printed, not run

    empty = make_engine(pg_url)
    try:
        full = migrate.plan_sql(empty)
        assert "CREATE TABLE videos_channel" in full and "CREATE INDEX video_video_channel_idx" in full
        with empty.begin() as conn:  # the printed script builds the same schema as upgrade
            conn.exec_driver_sql(full.replace("COMMIT;", "").replace("BEGIN;", ""))
        assert migrate.check(empty) == ([], True)
    finally:
        empty.dispose()


def test_incompatible_column_fails_in_one_line_and_changes_nothing(gallery_url, monkeypatch, capsys):
    with psycopg.connect(gallery_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("ALTER TABLE videos_video ALTER COLUMN video_id TYPE integer USING 0")
    engine = make_engine(gallery_url)
    with pytest.raises(IncompatibleSchemaError, match="videos_video.video_id is INTEGER"):
        migrate.upgrade(engine)
    assert not {"channel_update_logs", "alembic_version"} & set(sa.inspect(engine).get_table_names())
    engine.dispose()
    monkeypatch.setenv("CHANNEL_ASSETS_DATABASE_URL", gallery_url)
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "videos_video.video_id" in err and "Traceback" not in err
    assert main(["db", "check"]) == 1
    assert "incompatible: videos_video.video_id is INTEGER" in capsys.readouterr().out


def test_cli_check_then_upgrade(gallery_url, monkeypatch, capsys):
    monkeypatch.setenv("CHANNEL_ASSETS_DATABASE_URL", gallery_url)
    assert main(["db", "check"]) == 1
    out = capsys.readouterr().out
    assert "missing table channel_update_logs: db upgrade fixes it" in out
    assert "missing column videos_channel.shard: db upgrade fixes it" in out
    assert main(["db", "upgrade", "--sql"]) == 0
    assert "CREATE TABLE channel_update_logs" in capsys.readouterr().out
    assert main(["db", "check"]) == 1  # --sql changed nothing
    capsys.readouterr()
    assert main(["db", "upgrade"]) == 0 and main(["db", "check"]) == 0
    assert "ok: the pipeline can run" in capsys.readouterr().out
    assert main(["db", "upgrade", "--sql"]) == 0
    assert capsys.readouterr().out.startswith("-- nothing to run")


def test_demo_seed_never_writes_into_the_apps_database(gallery_engine):
    migrate.upgrade(gallery_engine)
    with pytest.raises(DatabaseNotEmptyError, match="gallery app's own database"):
        seed_demo(gallery_engine, users=2, channels=5, seed=1, force=True)


def test_an_interrupted_adoption_converges_on_the_next_upgrade(gallery_engine):
    migrate.upgrade(gallery_engine)
    with gallery_engine.begin() as conn:  # as if killed while building indexes, before the revision was recorded
        conn.exec_driver_sql("DELETE FROM alembic_version")
        conn.exec_driver_sql("UPDATE pg_index SET indisvalid = false "
                             "WHERE indexrelid = 'channel_shard_due_idx'::regclass")
        conn.exec_driver_sql("ALTER TABLE videos_channel DROP COLUMN is_priority")
    lines, runnable = migrate.check(gallery_engine)
    assert not runnable and "missing column videos_channel.is_priority: db upgrade fixes it" in lines
    assert any(line.startswith("missing index channel_shard_due_idx") for line in lines)
    migrate.upgrade(gallery_engine)
    assert migrate.check(gallery_engine) == ([], True)


def test_a_pipeline_database_made_before_0003_gets_the_channel_link_index(pg_url):
    """0003's (channel_id, video_id) index, which 0014 replaced by (video_id, channel_id): what check asks
    for is the index at head, not one a later revision drops again."""
    engine = make_engine(pg_url)
    try:
        migrate.upgrade(engine, "0002")
        lines = migrate.check(engine)[0]  # later revisions (0004_alerts: its tables) add their own lines
        assert "missing index video_video_channel_idx: db upgrade adds it (the pipeline runs without it, slower)" in lines
        assert not any("video_channel_video_idx" in line or "video_video_id_idx" in line for line in lines)
        assert lines[-1] == f"pending: schema revision 0002, head is {migrate.head_revision()} (db upgrade applies it)"
        migrate.upgrade(engine)
        assert migrate.check(engine) == ([], True)
    finally:
        engine.dispose()


def test_a_video_listed_twice_in_one_insert_is_stored_once_on_the_apps_schema(gallery_engine):
    """The app's videos_video has no unique (channel, video_id): the insert itself must not repeat a pair."""
    import uuid
    from datetime import UTC, datetime

    from channel_assets.db.core.engine import transaction
    from channel_assets.db.core.models import Channel, Video
    from channel_assets.db.refresh.uploads import NewVideo, insert_new_videos

    migrate.upgrade(gallery_engine)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    channel = uuid.uuid4()
    with transaction(gallery_engine) as conn:
        conn.execute(sa.insert(Channel).values(uuid=channel, channel_id="UC" + "d" * 22, title="", description="",
                                               url="", created_at=now, updated_at=now))
        video = NewVideo(channel, "UC" + "d" * 22, "dQw4w9WgXcQ", now, title="t")
        inserted = insert_new_videos(conn, [video, video], now)
    with gallery_engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(Video).where(Video.channel_id == channel))
        assert (inserted, stored.scalar_one()) == (1, 1)
