"""Loads the whole code location the way `dagster dev` and the gRPC server do."""

import os
import subprocess
import sys
from pathlib import Path

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


def test_workspace_loads_the_code_location_like_dagster_dev(tmp_path):
    """`dagster dev` loads the module, not the object: one Definitions at module scope, no load errors."""
    root = Path(__file__).resolve().parent.parent
    dagster = Path(sys.executable).with_name("dagster")
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", str(root / "workspace.yaml")],
        cwd=root, capture_output=True, text=True, timeout=180,
        env={**os.environ, "DAGSTER_HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Validation successful" in result.stdout + result.stderr
