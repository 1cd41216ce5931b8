"""Glue shared by the Dagster wrappers: the run's quota gate and client, and summary → metadata."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime

import dagster as dg

from channel_assets.defs.cycle_config import CycleConfig
from channel_assets.defs.resources import AppDatabase, PipelinePolicy, YouTubeApi
from channel_assets.refresh.metadata import RefreshSummary
from channel_assets.refresh.quota_gate import CountingGate
from channel_assets.reporting.markdown import md_table
from channel_assets.youtube import ConfigurationError, one_line


def clock_for(config: CycleConfig) -> tuple[datetime, Callable[[], datetime]]:
    """The cycle's `now` and the ledger's clock: fixed when the run pins `now` (demo/tests), else the wall."""
    now = config.resolve_now()
    return now, (lambda: now) if config.now else (lambda: datetime.now(UTC))


def one_line_failure(exc: Exception) -> dg.Failure:
    return dg.Failure(description=one_line(exc))


@contextmanager
def api_session(app_db: AppDatabase, policy: PipelinePolicy, youtube: YouTubeApi,
                ledger_clock: Callable[[], datetime]):
    """A gate on the app's ledger and a client reserving through it, closed at the end of the step."""
    gate = CountingGate(policy.ledger(app_db.engine, now=ledger_clock))
    try:
        client = youtube.new_client(gate)
    except ConfigurationError as exc:
        raise one_line_failure(exc) from None
    try:
        yield gate, client
    finally:
        client.close()


def summary_metadata(summary: RefreshSummary, now: datetime) -> dict:
    return {
        "cycle_now": now.isoformat(),
        "due": summary.due, "refreshed": summary.refreshed, "changed": summary.changed,
        "unchanged": summary.unchanged, "missing_first_pass": summary.missing_first_pass,
        "gone": summary.gone, "restored": summary.restored, "failed": summary.failed, "invalid": summary.invalid,
        "deferred": summary.deferred_total, "deferred_by_tier": dg.MetadataValue.json(summary.deferred),
        "quota_units": summary.quota_units, "channels_per_unit": float(summary.channels_per_unit),
        "wall_s": float(summary.wall_s), "channels_per_s": float(summary.channels_per_s),
        "stopped_by_quota": summary.stopped_by_quota or "",
        "stopped_by_circuit": summary.stopped_by_circuit or "",
        "largest_changes": dg.MetadataValue.md(md_table(
            ("channel", "title", "fields", "subscribers before", "after"), summary.largest_changes)),
        "failures": dg.MetadataValue.md(md_table(("channel", "failures", "error"), summary.failures[:20])),
    }
