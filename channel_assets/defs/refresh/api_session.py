"""What the refresh's Dagster steps share: the step's quota gate and API client, and a summary as metadata."""

from __future__ import annotations

from contextlib import contextmanager

import dagster as dg

from channel_assets.cycle import Cycle
from channel_assets.defs.cycle import cycle_metadata
from channel_assets.defs.resources import AppDatabase, PipelinePolicy, YouTubeApi
from channel_assets.refresh.metadata import RefreshSummary
from channel_assets.refresh.quota_gate import CountingGate
from channel_assets.reporting.markdown import md_table
from channel_assets.youtube import ConfigurationError, one_line


def one_line_failure(exc: Exception) -> dg.Failure:
    return dg.Failure(description=one_line(exc))


@contextmanager
def api_session(app_db: AppDatabase, policy: PipelinePolicy, youtube: YouTubeApi, cycle: Cycle):
    """A gate on the app's ledger (at the cycle's ledger clock) and a client reserving through it, closed
    at the end of the step; a configuration error (bad key, wrong URL) fails the step in one line."""
    gate = CountingGate(policy.ledger(app_db.engine, now=cycle.ledger_now))
    try:
        client = youtube.new_client(gate)
    except ConfigurationError as exc:
        raise one_line_failure(exc) from None
    try:
        yield gate, client
    except ConfigurationError as exc:
        raise one_line_failure(exc) from None
    finally:
        client.close()


def summary_metadata(summary: RefreshSummary, cycle: Cycle) -> dict:
    return {
        **cycle_metadata(cycle),
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
