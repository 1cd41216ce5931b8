"""Seed 000: 100% of orphans removed within 7 days. The check says how old the oldest unhandled orphan is,
on the detection asset, so it speaks even while daily_cleanup is off."""

from datetime import timedelta

import dagster as dg

from channel_assets.defs.cleanup.checks import orphans_removed_within_7_days
from channel_assets.defs.resources import AppDatabase
from channel_assets_tests.cleanup.conftest import NOW


def _evaluate(engine) -> dg.AssetCheckResult:
    instance = dg.DagsterInstance.ephemeral()
    instance.report_runless_asset_event(dg.AssetMaterialization(
        "orphaned_channels", partition=None, metadata={"cycle_now": NOW.isoformat()}))
    app_db = AppDatabase(database_url=engine.url.render_as_string(hide_password=False))
    return orphans_removed_within_7_days(dg.build_asset_check_context(instance=instance), app_db=app_db)


def test_an_orphan_older_than_7_days_fails_whatever_the_cool_down(world, engine):
    users = world.add_users(1)
    world.add_channel(orphaned_at=NOW - timedelta(days=2))  # waiting, within the deadline
    world.add_channel(orphaned_at=NOW - timedelta(days=8), soft_deleted_at=NOW - timedelta(days=7))  # handled
    world.add_channel(orphaned_at=NOW - timedelta(days=30), removal_hold_reason="safety hold: x")  # a human's
    world.add_channel(active=users, orphaned_at=NOW - timedelta(days=30))  # followed again: not an orphan
    assert _evaluate(engine).passed

    world.add_channel(orphaned_at=NOW - timedelta(days=8))  # nobody removed it: cleanup off
    result = _evaluate(engine)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert result.metadata["overdue_orphans"].value == 1 and result.metadata["waiting_orphans"].value == 2
    assert result.metadata["oldest_orphan_age_days"].value == 8.0
