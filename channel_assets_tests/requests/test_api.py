"""The app's API (channel_assets.app.api): the contract's shapes, refusals with one-line reasons, the
per-user limits, answered-from-stored, and every kind of `db` the app may hand over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import update

from channel_assets.app import api
from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import ApiQuotaLedger, Channel
from channel_assets.db.refresh.quota_ledger import quota_day

from .conftest import follow, insert_channels

A, B, C = "UC" + "a" * 22, "UC" + "b" * 22, "UC" + "c" * 22
REQUEST_KEYS = {"id", "kind", "status", "status_reason", "channel_ids", "video_ids", "requested_by", "user_id",
                "reason", "run_id", "outcome", "created_at", "started_at", "finished_at"}


USERS = (1, 3, 5, 7, 8, 9)


@pytest.fixture
def channels(engine):
    insert_channels(engine, [A, B, C])
    for user in USERS:  # a user may only ask for channels they follow
        follow(engine, user, [A, B, C])


def iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def test_a_staff_refresh_request_is_queued_with_the_contracts_shape(engine, url, channels):
    req = api.request_refresh(url, [A, f" {B} ", A], "staff:alice", "user report")
    assert set(req) == REQUEST_KEYS
    assert req["status"] == "queued" and req["kind"] == "refresh" and req["status_reason"] is None
    assert req["channel_ids"] == [A, B] and req["requested_by"] == "staff:alice" and req["user_id"] is None
    assert req["reason"] == "user report" and req["run_id"] is None and req["outcome"] is None
    assert iso(req["created_at"]).tzinfo is not None and req["started_at"] is None and req["finished_at"] is None
    assert api.request_status(url, req["id"]) == req
    assert api.request_status(url, req["id"] + 1000) is None


@pytest.mark.parametrize(("ids", "reason"), [
    ([], "no channel ids given"),
    (["UCshort"], "invalid YouTube channel id 'UCshort'"),
    ([A, "x" * 500], "invalid YouTube channel id"),
    ([A, "UC" + "z" * 22], "not in videos_channel (or soft-deleted): UCzzzz"),
])
def test_bad_input_is_refused_with_one_line_never_raised(url, channels, ids, reason):
    req = api.request_refresh(url, ids, "staff:bob")
    assert req["status"] == "refused" and reason in req["status_reason"] and "\n" not in req["status_reason"]
    assert req["finished_at"] is not None
    assert api.request_status(url, req["id"])["status_reason"] == req["status_reason"]  # stored, for the app


def test_a_user_may_only_ask_for_channels_they_follow(engine, url, channels):
    follow(engine, 2, [A])
    refused = api.request_refresh(url, [A, B, C], 2)
    assert refused["status"] == "refused" and refused["status_reason"] == f"user 2 does not follow {B}, {C}"
    assert api.request_refresh(url, [A], 2)["status"] == "queued"
    assert api.request_refresh(url, [B], "staff:alice")["status"] == "queued"  # staff need not follow


def test_a_soft_deleted_channel_is_unknown(engine, url, channels):
    with transaction(engine) as conn:
        conn.execute(update(Channel).where(Channel.channel_id == C).values(soft_deleted_at=datetime.now(UTC)))
    assert "soft-deleted" in api.request_refresh(url, [C], "staff:bob")["status_reason"]


def test_the_callers_own_bugs_raise(url, channels):
    with pytest.raises(TypeError):
        api.request_refresh(url, A, "staff:x")  # a single string, not a list
    with pytest.raises(ValueError):
        api.request_refresh(url, [A], "alice")  # no requester kind
    with pytest.raises(TypeError):
        api.request_refresh(url, [A], True)
    with pytest.raises(TypeError):
        api.request_status(url, "1")
    with pytest.raises(TypeError):
        api.update_status(42)


def test_a_users_flood_and_rate_limit_are_refused(url, channels, monkeypatch):
    monkeypatch.setenv("CHANNEL_ASSETS_REQUESTS_USER_MAX_IDS", "2")
    monkeypatch.setenv("CHANNEL_ASSETS_REQUESTS_USER_MAX_PENDING", "2")
    monkeypatch.setenv("CHANNEL_ASSETS_REQUESTS_USER_PER_HOUR", "3")
    flood = api.request_refresh(url, [A, B, C], 7)
    assert flood["status"] == "refused" and flood["status_reason"] == "too many channels: at most 2 per request, got 3"
    assert flood["user_id"] == 7 and flood["requested_by"] == "user:7"
    first, second = api.request_refresh(url, [A], 7), api.request_refresh(url, [B], "user:7")
    assert first["status"] == second["status"] == "queued" and second["user_id"] == 7
    third = api.request_refresh(url, [C], 7)
    assert third["status"] == "refused" and "at most 2 queued or running per user" in third["status_reason"]
    assert api.request_refresh(url, [C], "staff:alice")["status"] == "queued"  # staff are not limited
    assert api.request_refresh(url, [C], 8)["status"] == "queued"  # another user is not either


def test_the_rate_limit_counts_the_last_hour(engine, url, channels, monkeypatch):
    monkeypatch.setenv("CHANNEL_ASSETS_REQUESTS_USER_PER_HOUR", "2")
    monkeypatch.setenv("CHANNEL_ASSETS_REQUESTS_USER_MAX_PENDING", "10")
    ids = [api.request_refresh(url, [A], 5)["id"] for _ in range(2)]
    refused = api.request_refresh(url, [A], 5)
    assert refused["status_reason"] == "rate limit: at most 2 refresh requests an hour per user; try again later"
    with engine.begin() as conn:  # an hour later, the two count no more
        conn.exec_driver_sql("UPDATE channel_pipeline_requests SET created_at = created_at - interval '61 minutes' "
                             "WHERE id = ANY(%(ids)s)", {"ids": ids})
    assert api.request_refresh(url, [A], 5)["status"] == "queued"


def test_a_channel_refreshed_minutes_ago_is_answered_from_stored_for_a_user(engine, url, channels):
    now = datetime.now(UTC)
    with transaction(engine) as conn:
        conn.execute(update(Channel).where(Channel.channel_id.in_([A, B])).values(last_updated=now - timedelta(minutes=2)))
        conn.execute(update(Channel).where(Channel.channel_id == C).values(last_updated=now - timedelta(minutes=20)))
    answered = api.request_refresh(url, [A, B], 3)
    assert answered["status"] == "done" and answered["outcome"] == {A: "answered_from_stored", B: "answered_from_stored"}
    assert "answered from stored" in answered["status_reason"] and answered["finished_at"] is not None
    assert api.request_refresh(url, [A, C], 3)["status"] == "queued"  # C is not fresh: a run decides per channel
    assert api.request_refresh(url, [A], "staff:alice")["status"] == "queued"  # staff force it


def test_a_user_request_is_refused_when_the_user_quota_is_spent(engine, url, channels, monkeypatch):
    monkeypatch.setenv("YOUTUBE_QUOTA_DAILY_LIMIT", "1000")
    monkeypatch.setenv("CHANNEL_ASSETS_REQUESTS_USER_QUOTA_SHARE", "0.05")  # 40 units of the 800 share
    day = quota_day(datetime.now(UTC))
    with transaction(engine) as conn:
        conn.execute(ApiQuotaLedger.__table__.insert().values(quota_day=day, units_reserved=40, units_used=40,
                                                              user_request_units=40))
    refused = api.request_refresh(url, [A], 9)
    assert refused["status"] == "refused"
    assert refused["status_reason"].startswith("today's quota for user requests (40 units) is spent; try again after")
    assert api.request_refresh(url, [A], "staff:alice")["status"] == "queued"


def test_cleanup_requests(url):
    dry = api.request_cleanup(url, dry_run=True, requested_by="staff:alice", reason="look first")
    assert dry["kind"] == "cleanup_dry_run" and dry["status"] == "queued" and dry["channel_ids"] is None
    assert api.request_cleanup(url, requested_by="operator:ops")["kind"] == "cleanup"
    user = api.request_cleanup(url, requested_by=4)
    assert user["status"] == "refused" and user["status_reason"] == "only staff and operators may request a cleanup"


def test_every_kind_of_db_and_the_apps_own_transaction(engine, url, channels):
    assert api.request_refresh(engine, [A], "staff:a")["status"] == "queued"
    with engine.connect() as conn:  # a Connection outside a transaction: committed by the call
        assert api.request_refresh(conn, [A], "staff:a")["status"] == "queued"
    with engine.connect() as conn:  # inside the caller's transaction: it decides
        conn.begin()
        rolled = api.request_refresh(conn, [A], "staff:a")["id"]
        conn.rollback()
    assert api.request_status(url, rolled) is None
    raw_url = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(raw_url, autocommit=True) as raw:  # Django's connection.connection
        kept = api.request_refresh(raw, [B], "staff:django")
        assert api.request_status(raw, kept["id"]) == kept
    with psycopg.connect(raw_url) as raw:  # inside an app transaction (atomic): ours rolls back with it
        with raw.transaction(force_rollback=True):
            gone = api.request_refresh(raw, [B], "staff:django")["id"]
    assert api.request_status(url, gone) is None
    assert api.request_status(raw_url, kept["id"])["channel_ids"] == [B]


def test_jsonb_as_text_from_djangos_loader_is_decoded(engine, url, channels):
    from psycopg.types.string import TextLoader

    raw_url = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(raw_url, autocommit=True) as raw:
        raw.adapters.register_loader("jsonb", TextLoader)  # what Django does on its connections
        now = datetime.now(UTC)
        with transaction(engine) as conn:
            conn.execute(update(Channel).values(last_updated=now))
        done = api.request_refresh(raw, [A], 1)
        assert done["outcome"] == {A: "answered_from_stored"}
        assert api.request_status(raw, done["id"])["outcome"] == {A: "answered_from_stored"}


def test_update_status_shape_and_counts(engine, url, channels, monkeypatch):
    monkeypatch.setenv("YOUTUBE_QUOTA_DAILY_LIMIT", "1000")
    now = datetime.now(UTC)
    with transaction(engine) as conn:
        conn.execute(update(Channel).where(Channel.channel_id == A).values(last_updated=now))
        conn.execute(update(Channel).where(Channel.channel_id == B).values(failed_update_count=2))
        conn.execute(ApiQuotaLedger.__table__.insert().values(quota_day=quota_day(now), units_reserved=30,
                                                              units_used=25))
    out = api.update_status(url)
    assert out == {"total_channels": 3, "last_update_run": now.isoformat(), "channels_updated_today": 1,
                   "failed_updates": 1, "quota_usage": {"used": 25, "limit": 800, "remaining": 770},
                   "next_scheduled_update": None, "next_scheduled_update_reason": out["next_scheduled_update_reason"]}
    assert "passed no `schedules`" in out["next_scheduled_update_reason"]


def test_channel_history_in_the_seeds_shape(engine, url, emulator, ledger_factory, client_factory):
    from channel_assets.cycle import Cycle
    from channel_assets.refresh.forced import force_refresh

    ids = emulator.ids(2)
    insert_channels(engine, ids)
    gate = ledger_factory()
    force_refresh(engine, client_factory(gate), gate, Cycle(emulator.world.now, "run-1", "test"), ids)
    rows = api.channel_history(url, ids[0])
    assert rows and set(rows[0]) == {"id", "update_type", "status", "error_message", "changes_made", "api_quota_used",
                                     "created_at"}
    assert rows[0]["update_type"] == "metadata" and rows[0]["status"] == "success"
    other = api.channel_history(url, ids[1])  # the log row's own id, as the seed's `id: string`
    assert rows[0]["id"].isdigit() and other and rows[0]["id"] not in {r["id"] for r in other}
    assert isinstance(rows[0]["changes_made"], dict) and iso(rows[0]["created_at"]) == emulator.world.now
    assert api.channel_history(url, "nonsense") == [] and api.channel_history(url, "UC" + "q" * 22) == []
    with pytest.raises(ValueError):
        api.channel_history(url, ids[0], limit=0)
