"""Record → outbox → delivery on PostgreSQL with real receivers: dedup over ticks, a receiver that is
down and comes back, no channel configured, silencing, the digest and the circuit breaker."""

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from sqlalchemy import insert, select

from channel_assets.alerts.conditions import Outgoing
from channel_assets.alerts.config import load_alert_config
from channel_assets.alerts.notifiers import Message
from channel_assets.alerts.service import deliver, record
from channel_assets.db.core.models import AlertOutbox, ApiQuotaLedger, Channel, ChannelUpdateLog
from channel_assets.db.refresh.quota_ledger import quota_day
from channel_assets.defs.alerts.sensors import alerts_tick, materializations
from channel_assets.defs.resources import PipelinePolicy

from .conftest import SMTP_PASSWORD, SMTP_USER

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # 04:00 in Los Angeles: one Pacific day for hours
POLICY = PipelinePolicy(quota_daily_limit=10_000, quota_pipeline_share="0.8")  # a share of 8000 units
HOOK_SECRET = "hook-secret-0123456789"


def config(**env):
    """Digest at 23:00 unless a test asks otherwise, so the other tests see only their own alerts."""
    return load_alert_config({"CHANNEL_ASSETS_UI_URL": "http://ui.example:3000",
                              "CHANNEL_ASSETS_ALERTS_DIGEST_HOUR": "23", **env})


def webhook(receiver):
    return {"CHANNEL_ASSETS_ALERTS_WEBHOOK_URL": f"{receiver.url}/hook/{HOOK_SECRET}"}


@pytest.fixture
def tick(pg_engine):
    instance = dg.DagsterInstance.ephemeral()
    repo = dg.Definitions().get_repository_def()

    def run(cfg, now):
        return alerts_tick(instance, repo, pg_engine, POLICY, cfg, now)
    return run


def use_quota(engine, now, used, exhausted=False):
    with engine.begin() as conn:
        conn.execute(insert(ApiQuotaLedger).values(quota_day=quota_day(now), units_reserved=used, units_used=used,
                                                   exhausted_at=now if exhausted else None, updated_at=now))


def test_quota_alert_reaches_every_channel_once_over_many_ticks(pg_engine, tick, http_receiver, smtp_server):
    mailbox, port = smtp_server
    cfg = config(**webhook(http_receiver), CHANNEL_ASSETS_ALERTS_SLACK_TOKEN="xoxb-test-token",
                 CHANNEL_ASSETS_ALERTS_SLACK_CHANNEL="#ops", CHANNEL_ASSETS_ALERTS_SLACK_API_URL=http_receiver.url,
                 CHANNEL_ASSETS_ALERTS_SMTP_HOST="127.0.0.1", CHANNEL_ASSETS_ALERTS_SMTP_PORT=str(port),
                 CHANNEL_ASSETS_ALERTS_SMTP_STARTTLS="false", CHANNEL_ASSETS_ALERTS_SMTP_USER=SMTP_USER,
                 CHANNEL_ASSETS_ALERTS_SMTP_PASSWORD=SMTP_PASSWORD, CHANNEL_ASSETS_ALERTS_SMTP_FROM="a@example.org",
                 CHANNEL_ASSETS_ALERTS_SMTP_TO="ops@example.org")
    use_quota(pg_engine, T0, 6100)
    for minute in range(5):
        tick(cfg, T0 + timedelta(minutes=minute))
    hooks = [r["json"] for r in http_receiver.received if r["path"].startswith("/hook/")]
    slack = [r["json"] for r in http_receiver.received if r["path"] == "/chat.postMessage"]
    assert [h["condition"] for h in hooks] == ["quota_75"]
    assert "6100 of the pipeline's 8000 units" in hooks[0]["text"]
    assert hooks[0]["link"] == "http://ui.example:3000/assets/channel_metadata?view=checks"
    assert len(slack) == 1 and "75% of the pipeline's share" in slack[0]["text"]
    assert len(mailbox.messages) == 1 and "Subject: YouTube quota: 75%" in mailbox.messages[0]["data"]

    next_day = T0 + timedelta(days=1)  # a new Pacific day: the ledger row is empty, the condition recovers
    tick(cfg, next_day)
    tick(cfg, next_day + timedelta(minutes=1))
    hooks = [r["json"] for r in http_receiver.received if r["path"].startswith("/hook/")]
    assert [h["severity"] for h in hooks] == ["warning", "resolved"]


def test_receiver_down_then_back_gets_the_message_exactly_once(pg_engine, tick, http_receiver, caplog):
    caplog.set_level(logging.DEBUG)
    cfg = config(**webhook(http_receiver))
    use_quota(pg_engine, T0, 10, exhausted=True)
    http_receiver.status = 500
    first = tick(cfg, T0)
    tick(cfg, T0 + timedelta(minutes=1))
    assert http_receiver.received == []
    assert [d.outcome for d in first] == ["failed"] and "HTTP 500" in first[0].error
    http_receiver.status = 200
    back = tick(cfg, T0 + timedelta(minutes=2))
    tick(cfg, T0 + timedelta(minutes=3))
    assert [r["json"]["condition"] for r in http_receiver.received] == ["quota_exceeded"]
    assert [d.outcome for d in back] == ["sent"]
    with pg_engine.connect() as conn:
        row = conn.execute(select(AlertOutbox.attempts, AlertOutbox.outcome, AlertOutbox.last_error)).one()
    assert (row.attempts, row.outcome, row.last_error) == (3, "sent", None)
    assert HOOK_SECRET not in caplog.text and "not delivered" in caplog.text


def test_with_no_channel_the_alert_is_recorded_and_shown(pg_engine, tick):
    use_quota(pg_engine, T0, 8000)
    deliveries = tick(config(), T0)
    assert {d.message.condition: d.outcome for d in deliveries} == {
        "quota_75": "recorded", "quota_80": "recorded", "quota_share_spent": "recorded"}
    events = materializations(deliveries)
    assert len(events) == 3 and all(e.asset_key == dg.AssetKey("alerts") for e in events)
    assert "no alert channel configured" in str(events[0].metadata["channels"].value)
    assert tick(config(), T0 + timedelta(minutes=1)) == []


def test_a_silenced_condition_is_recorded_not_sent(pg_engine, tick, http_receiver):
    use_quota(pg_engine, T0, 6100)
    deliveries = tick(config(**webhook(http_receiver), CHANNEL_ASSETS_ALERTS_SILENCE="quota_*"), T0)
    assert [d.outcome for d in deliveries] == ["silenced"] and http_receiver.received == []


def _channel(conn, cid, **values):
    conn.execute(insert(Channel).values(channel_id=cid, title=cid, shard=0, **values))


def _log(conn, now, cid, update_type, changes, status="success", error=None, run_id="run-1", error_type=None):
    conn.execute(insert(ChannelUpdateLog).values(channel_id=cid, update_type=update_type, status=status,
                                                 changes_made=changes, error_message=error, run_id=run_id,
                                                 error_type=error_type, created_at=now))


def test_daily_digest_once_with_availability_cleanup_and_what_waits(pg_engine, tick, http_receiver):
    at = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    with pg_engine.begin() as conn:
        _log(conn, at - timedelta(hours=3), "UCgone", "metadata", {"is_available": [True, False]})
        _log(conn, at - timedelta(hours=2), "UCback", "metadata", {"is_available": [False, True]})
        _log(conn, at - timedelta(days=2), "UCold", "metadata", {"is_available": [True, False]})  # before the window
        _log(conn, at - timedelta(hours=1), "UCsoft", "removal", {"phase": "soft_delete"})
        _log(conn, at - timedelta(hours=1), "UChard", "removal", {"phase": "hard_delete"})
        _log(conn, at - timedelta(hours=1), "UCrest", "restore", {"cause": "active subscription"})
        _channel(conn, "UCheld", removal_hold_reason="safety hold: 12000 watch rows >= 10000")
        _channel(conn, "UCheldHard", removal_hold_reason="safety hold: 90 videos >= 50", soft_deleted_at=at)
        _channel(conn, "UCkept", removal_hold_reason="restored by ana: still wanted")
        _channel(conn, "UCfailing", failed_update_count=7, last_error="HTTP 503 (backendError)")
    cfg = config(**webhook(http_receiver), CHANNEL_ASSETS_ALERTS_DIGEST_HOUR="7")
    tick(cfg, at - timedelta(minutes=1))  # before the digest hour: nothing
    tick(cfg, at)
    tick(cfg, at + timedelta(hours=5))
    [digest] = [r["json"] for r in http_receiver.received]
    assert digest["condition"] == "digest" and digest["title"] == "channel_assets daily digest for 2026-12-01"
    text = digest["text"]
    assert "1 gone, 1 back" in text and "UCgone" in text and "UCold" not in text
    assert "1 soft-deleted, 1 hard-deleted, 1 restored" in text
    assert "Held UCheld: safety hold at soft delete: 12000 watch rows" in text
    assert "Held UCheldHard: safety hold at hard delete: 90 videos" in text  # already soft-deleted, still held
    assert "Held UCkept: operator hold at soft delete: restored by ana" in text
    assert "Failing UCfailing (7 times)" in text


def test_open_circuit_breaker_alerts_then_recovers(pg_engine, tick, http_receiver):
    with pg_engine.begin() as conn:
        _log(conn, T0 - timedelta(minutes=5), None, "metadata", {"deferred": 10}, status="skipped",
             error="circuit open after 5 consecutive transient failures; failing fast (circuitOpen)", run_id="r42",
             error_type="circuit_open")
    cfg = config(**webhook(http_receiver))
    tick(cfg, T0)
    tick(cfg, T0 + timedelta(minutes=30))
    tick(cfg, T0 + timedelta(hours=2))
    sent = [r["json"] for r in http_receiver.received]
    assert [(s["condition"], s["severity"]) for s in sent] == [("circuit_open", "error"), ("circuit_open", "resolved")]
    assert "r42 (1 stopped)" in sent[0]["text"] and sent[0]["link"] == "http://ui.example:3000/runs/r42"


def test_two_deliverers_at_once_send_each_message_exactly_once(pg_engine, http_receiver):
    """The run-failure sensor and the alerts sensor may tick together: rows are claimed, never shared."""
    cfg = config(**webhook(http_receiver))
    events = [Outgoing(f"event-{i}", Message(f"test:{i}", "info", f"message {i}", "text")) for i in range(30)]
    record(pg_engine, cfg, T0, events=events)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: deliver(pg_engine, cfg, T0), range(2)))
    titles = sorted(r["json"]["title"] for r in http_receiver.received)
    assert titles == sorted(f"message {i}" for i in range(30))
    assert sum(len(r) for r in results) == 30
