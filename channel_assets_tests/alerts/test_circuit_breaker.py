"""An open circuit breaker in a real refresh (local emulator answering 503) reaches a human: the
refresh logs the failed batches durably, the alert reads them from the update log."""

from datetime import timedelta

import dagster as dg

from channel_assets.alerts.config import load_alert_config
from channel_assets.alerts.sensors import alerts_tick
from channel_assets.db.quota_ledger import QuotaLedger
from channel_assets.refresh.metadata import refresh_shards
from channel_assets.refresh.quota import CountingGate
from channel_assets_tests.refresh.conftest import client_factory, emulator, insert_channels  # noqa: F401


def test_breaker_opened_by_a_dead_api_is_alerted_with_the_run(pg_engine, emulator, client_factory,  # noqa: F811
                                                             http_receiver):
    insert_channels(pg_engine, emulator.ids(400))
    emulator.server.faults.configure({"error_rate": 1.0, "seed": 1})
    now = emulator.world.now
    gate = CountingGate(QuotaLedger(pg_engine, 8000, now=lambda: now))
    client = client_factory(gate, max_attempts=1, breaker_threshold=2, clock=lambda: 0.0)
    summary = refresh_shards(pg_engine, client, gate, now, list(range(16)), in_flight=1, run_id="run-dead-api")
    assert summary.failed == 400 and summary.gone == 0  # nobody marked unavailable for a transient error

    cfg = load_alert_config({"CHANNEL_ASSETS_ALERTS_WEBHOOK_URL": http_receiver.url + "/hook"})
    repo = dg.Definitions().get_repository_def()
    alerts_tick(dg.DagsterInstance.ephemeral(), repo, pg_engine, 8000, cfg, now + timedelta(minutes=1))
    sent = {r["json"]["condition"]: r["json"] for r in http_receiver.received}
    assert "run-dead-api" in sent["circuit_open"]["text"] and sent["circuit_open"]["link"].endswith("/runs/run-dead-api")
    assert "400 of 400 channel refreshes failed in the last 1 h" in sent["failure_spike"]["text"]
