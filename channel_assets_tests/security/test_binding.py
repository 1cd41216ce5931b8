"""Network exposure: the Dagster UI and the emulator bind 127.0.0.1 by default, docker-compose publishes
only the webserver (on 127.0.0.1), and the README says how to put authentication in front of the UI.
(`test_deployment_files.py` checks the compose file through `docker-compose config` when it is installed;
this reads the YAML itself so the rule is checked everywhere.)"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import yaml

from channel_assets.cli import main as cli
from channel_assets.emulator import server as emulator_server

ROOT = Path(__file__).resolve().parents[2]


def test_dev_webserver_defaults_to_localhost():
    args = cli.build_parser().parse_args(["dev"])
    assert args.host == "127.0.0.1"


class _Bound(Exception):
    pass


def test_emulator_defaults_to_localhost(monkeypatch):
    seen = {}

    def fake_server(world, host, *rest, **kw):
        seen["host"] = host
        raise _Bound

    monkeypatch.setattr(emulator_server, "EmulatorServer", fake_server)
    with pytest.raises(_Bound):
        emulator_server.serve_main(["--channels", "5"])
    assert seen["host"] == "127.0.0.1"
    monkeypatch.undo()
    assert inspect.signature(emulator_server.EmulatorServer).parameters["host"].default == "127.0.0.1"


def test_docker_compose_publishes_only_the_webserver_on_localhost():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    published = {name: svc["ports"] for name, svc in services.items() if svc.get("ports")}
    assert set(published) == {"webserver"}
    for port in published["webserver"]:
        text = port if isinstance(port, str) else str(port.get("host_ip", ""))
        assert text.startswith("127.0.0.1") or "127.0.0.1" in text, port


def test_readme_says_how_to_put_authentication_in_front_of_the_ui():
    readme = (ROOT / "README.md").read_text().lower()
    assert "authentic" in readme and "reverse proxy" in readme
