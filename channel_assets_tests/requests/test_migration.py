"""Revision 0009_app_requests: the request table and its partial indexes, created or adopted; `db check` knows it."""

from __future__ import annotations

from sqlalchemy import text

from channel_assets.db.core import migrate
from channel_assets.db.core.engine import make_engine


def indexdefs(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT indexname, indexdef FROM pg_indexes "
                                      "WHERE tablename = 'channel_pipeline_requests'")).all())


def test_the_table_its_checks_and_partial_indexes(engine):
    defs = indexdefs(engine)
    assert "WHERE (status = ANY (ARRAY['queued'::text, 'running'::text]))" in defs["channel_pipeline_requests_pending_idx"]
    assert "WHERE (user_id IS NOT NULL)" in defs["channel_pipeline_requests_user_idx"]
    with engine.connect() as conn:
        checks = conn.execute(text("SELECT conname FROM pg_constraint WHERE conrelid = "
                                   "'channel_pipeline_requests'::regclass AND contype = 'c'")).scalars().all()
    assert sorted(checks) == ["channel_pipeline_requests_kind_check", "channel_pipeline_requests_status_check"]
    assert migrate.check(engine) == ([], True)


def test_adopting_a_table_without_its_user_index_adds_it_partial_and_check_says_so_first(pg_url):
    engine = make_engine(pg_url)
    migrate.upgrade(engine, "0008_channel_pipeline_written_at")
    with engine.begin() as conn:  # as an app that created the table itself, without the user index
        conn.execute(text("""CREATE TABLE channel_pipeline_requests (
            id bigserial PRIMARY KEY, kind text NOT NULL, channel_ids text[], requested_by text NOT NULL,
            user_id bigint, reason text NOT NULL DEFAULT '', status text NOT NULL DEFAULT 'queued',
            status_reason text, run_id text, outcome jsonb, created_at timestamptz NOT NULL DEFAULT now(),
            started_at timestamptz, finished_at timestamptz)"""))
        conn.execute(text("CREATE INDEX app_pending ON channel_pipeline_requests (id) WHERE status = 'queued'"))
    lines, runnable = migrate.check(engine)
    assert "missing index channel_pipeline_requests_user_idx: db upgrade adds it (the pipeline runs without it, " \
           "slower)" in lines
    assert not any("pending_idx" in line for line in lines)  # a partial index on (id) exists, under any name
    assert not runnable  # the ledger's user_request_units column is missing too
    migrate.upgrade(engine)
    assert "WHERE (user_id IS NOT NULL)" in indexdefs(engine)["channel_pipeline_requests_user_idx"]
    assert migrate.check(engine) == ([], True)
    engine.dispose()


def test_db_check_names_a_missing_request_table(engine):
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE channel_pipeline_requests"))
    lines, runnable = migrate.check(engine)
    assert "missing table channel_pipeline_requests: db upgrade fixes it" in lines and not runnable
