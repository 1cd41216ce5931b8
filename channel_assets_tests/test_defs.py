"""Loads the whole code location the way `dagster dev` and the gRPC server do."""

import dagster as dg

from channel_assets.definitions import defs


def test_code_location_loads():
    repo = defs.get_repository_def()
    repo.load_all_definitions()


def test_both_domains_are_in_the_graph():
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {
        "channel_metadata",
        "channel_uploads",
        "channel_statistics",
        "channel_freshness_report",
        "orphaned_channels",
        "preserved_video_snapshots",
        "removed_channels",
    } <= keys
    for job in ("force_refresh_channels", "restore_channels", "override_held_removals"):
        assert defs.resolve_job_def(job) is not None
    assert isinstance(defs.resolve_sensor_def("new_subscription_sensor"), dg.SensorDefinition)
    assert isinstance(defs.resolve_sensor_def("subscription_cleanup_sensor"), dg.SensorDefinition)
