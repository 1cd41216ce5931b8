"""An open circuit breaker in a real refresh (local emulator answering 503) is not the channels' fault:
the rest of the run is deferred (nothing counted against the channels), the run says why, a durable
run-level row lets the alert find it, and the next run resumes."""

from datetime import timedelta

import dagster as dg
from sqlalchemy import func, select

from channel_assets.alerts.config import load_alert_config
from channel_assets.cycle import Cycle
from channel_assets.db.core.models import Channel, ChannelUpdateLog
from channel_assets.db.refresh.quota_ledger import QuotaLedger
from channel_assets.defs.alerts.sensors import alerts_tick
from channel_assets.defs.resources import PipelinePolicy
from channel_assets.refresh.metadata import refresh_shards
from channel_assets.refresh.quota_gate import CountingGate
from channel_assets_tests.refresh.conftest import client_factory, emulator, insert_channels  # noqa: F401

ALL = list(range(16))


def _count(engine, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Channel).where(*where)).scalar_one()


def test_open_breaker_defers_the_rest_and_is_alerted_with_the_run(pg_engine, emulator, client_factory,  # noqa: F811
                                                                  http_receiver):
    insert_channels(pg_engine, emulator.ids(400))
    emulator.server.faults.configure({"error_rate": 1.0, "seed": 1})
    now = emulator.world.now
    gate = CountingGate(QuotaLedger(pg_engine, 8000, now=lambda: now))
    client = client_factory(gate, max_attempts=1, breaker_threshold=2, clock=lambda: 0.0)
    summary = refresh_shards(pg_engine, client, gate, Cycle(now, run_id="run-dead-api"), ALL, in_flight=1)

    # the two calls that opened the breaker failed (100 channels); the other 300 wait, uncounted
    assert summary.failed == 100 and summary.gone == 0
    assert summary.deferred_total == 300 and "circuit open" in summary.stopped_by_circuit
    assert _count(pg_engine, Channel.failed_update_count > 0) == 100
    with pg_engine.connect() as conn:
        [trace] = conn.execute(select(ChannelUpdateLog).where(ChannelUpdateLog.error_type == "circuit_open")).all()
    assert (trace.status, trace.run_id, trace.changes_made) == ("skipped", "run-dead-api", {"deferred": 300})

    cfg = load_alert_config({"CHANNEL_ASSETS_ALERTS_WEBHOOK_URL": http_receiver.url + "/hook"})
    repo = dg.Definitions().get_repository_def()
    alerts_tick(dg.DagsterInstance.ephemeral(), repo, pg_engine, PipelinePolicy(), cfg, now + timedelta(minutes=1))
    sent = {r["json"]["condition"]: r["json"] for r in http_receiver.received}
    assert "run-dead-api" in sent["circuit_open"]["text"] and sent["circuit_open"]["link"].endswith("/runs/run-dead-api")

    emulator.server.faults.configure({"error_rate": 0.0})  # the API is back: the next run resumes
    healthy = client_factory(gate, max_attempts=1, breaker_threshold=2, clock=lambda: 0.0)
    later = refresh_shards(pg_engine, healthy, gate, Cycle(now + timedelta(minutes=5), run_id="run-back"), ALL)
    assert later.attempted == 300 and not later.stopped_by_circuit


def test_batches_the_breaker_cut_short_say_why_and_charge_no_channel(pg_engine, emulator, client_factory):  # noqa: F811
    """A dead API (HTTP 500 on every call) with retries: each batch's attempts fail until the breaker opens
    in the middle of its retries. Its row says what happened (type, message, units, counts that add up) and
    none of its channels is charged a failure."""
    insert_channels(pg_engine, emulator.ids(400))
    emulator.server.faults.configure({"error_rate": 1.0, "seed": 1})
    now = emulator.world.now
    gate = CountingGate(QuotaLedger(pg_engine, 8000, now=lambda: now))
    client = client_factory(gate, max_attempts=3, breaker_threshold=2, clock=lambda: 0.0)
    summary = refresh_shards(pg_engine, client, gate, Cycle(now, run_id="run-500s"), ALL, in_flight=1)

    assert summary.failed == 0 and summary.deferred_total == 400 and summary.quota_units == 2
    assert _count(pg_engine, Channel.failed_update_count > 0) == 0
    with pg_engine.connect() as conn:
        rows = conn.execute(select(ChannelUpdateLog).where(ChannelUpdateLog.update_type == "metadata")
                            .order_by(ChannelUpdateLog.id)).all()
    [batch] = [r for r in rows if r.changes_made and "batch" in r.changes_made]
    counts = batch.changes_made["batch"]
    assert (batch.status, batch.error_type, batch.api_quota_used) == ("failed", "transient", 2)
    assert "circuit breaker opened" in batch.error_message and "\n" not in batch.error_message
    assert (counts["asked"], counts["failed"], counts["deferred"], counts["charged"]) == (50, 0, 50, 0)
    assert counts["found"] + counts["missing"] + counts["gone"] + counts["failed"] + counts["deferred"] == counts["asked"]
    assert "deferred to the next run" in counts["why_not_charged"]
    [run_row] = [r for r in rows if r.error_type == "circuit_open"]
    assert (run_row.status, run_row.changes_made) == ("skipped", {"deferred": 400})
    assert all(r.channel_id is None for r in rows)  # no per-channel failure row: nobody was charged


def test_uploads_stop_on_an_open_breaker_and_fail_no_channel(pg_engine, emulator, client_factory):  # noqa: F811
    """Feeds down and the API answering 503: the playlist fallbacks open the breaker; the channels after
    it are deferred, not failed, and one run-level row says why."""
    from channel_assets.refresh.uploads import refresh_uploads

    insert_channels(pg_engine, emulator.ids(60))
    emulator.server.faults.configure({"error_rate": 1.0, "feed_outage": True, "seed": 1})
    now = emulator.world.now
    gate = CountingGate(QuotaLedger(pg_engine, 8000, now=lambda: now))
    client = client_factory(gate, max_attempts=1, breaker_threshold=2, clock=lambda: 0.0)
    summary = refresh_uploads(pg_engine, client, gate, Cycle(now, run_id="uploads-dead-api"), ALL, in_flight=1, group_size=10)

    assert "circuit open" in summary.stopped_by_circuit
    assert summary.failed <= 2 and summary.deferred >= 50  # only the calls that opened it failed
    with pg_engine.connect() as conn:
        [trace] = conn.execute(select(ChannelUpdateLog).where(ChannelUpdateLog.error_type == "circuit_open")).all()
        failed = conn.execute(select(ChannelUpdateLog).where(ChannelUpdateLog.update_type == "uploads",
                                                             ChannelUpdateLog.status == "failed",
                                                             ChannelUpdateLog.channel_id.is_not(None))).all()
    assert (trace.update_type, trace.run_id, trace.status) == ("uploads", "uploads-dead-api", "skipped")
    assert all(f.error_type and f.channel_uuid for f in failed)  # typed, and tied to the channel row
