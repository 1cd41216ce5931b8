"""The deployment files stay valid and consistent with what the tests run."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_instance_configs_are_valid_dagster_config():
    from dagster._core.instance.config import dagster_instance_config

    for path in (ROOT / "dagster.yaml", ROOT / "deploy" / "dagster.postgres.yaml"):
        config, _ = dagster_instance_config(str(path.parent), config_filename=path.name)
        assert config["concurrency"]["pools"]["default_limit"] >= 1


def test_production_instance_uses_postgres_and_queued_runs():
    config = yaml.safe_load((ROOT / "deploy" / "dagster.postgres.yaml").read_text())
    assert "postgres" in config["storage"]
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["run_retries"]["enabled"] and config["run_monitoring"]["enabled"]


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="Debian's docker-compose is not installed")
def test_docker_compose_config_is_valid_and_exposes_only_the_webserver():
    env = dict(os.environ, POSTGRES_PASSWORD="x")
    out = subprocess.run(
        ["docker-compose", "config"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    services = yaml.safe_load(out)["services"]
    assert {"postgres", "user_code", "webserver", "daemon"} <= set(services)
    published = {name for name, svc in services.items() if svc.get("ports")}
    assert published == {"webserver"}
    assert "127.0.0.1" in str(services["webserver"]["ports"])
    assert "channel_assets.definitions" in " ".join(services["user_code"]["command"])
