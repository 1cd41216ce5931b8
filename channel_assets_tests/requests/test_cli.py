"""`channel-assets request …` and `channel-assets status`: one line per request, one-line errors, the JSON."""

from __future__ import annotations

import json

import pytest

from channel_assets.cli.main import main

from .conftest import insert_channels

A = "UC" + "a" * 22


@pytest.fixture
def app_db(monkeypatch, engine, url):
    monkeypatch.setenv("CHANNEL_ASSETS_DATABASE_URL", url)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    insert_channels(engine, [A])
    return url


def test_request_refresh_then_status(app_db, capsys):
    assert main(["request", "refresh", A, "--by", "staff:alice", "--reason", "user report"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("request 1: queued (refresh of 1 channel(s), by staff:alice)")
    assert main(["request", "status", "1"]) == 0
    assert "request 1: queued" in capsys.readouterr().out
    assert main(["request", "status", "99"]) == 2
    assert capsys.readouterr().err == "channel-assets: error: no request 99\n"


def test_refused_and_wrong_input_are_one_line(app_db, capsys):
    assert main(["request", "refresh", "UCnope", "--by", "staff:alice"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("request 1: refused (refresh of 1 channel(s), by staff:alice): invalid YouTube channel id")
    assert err.count("\n") == 1
    assert main(["request", "refresh", A, "--by", "alice"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "requested_by must be 'staff:<name>'" in err and "Traceback" not in err
    assert main(["request", "cleanup", "--dry-run", "--by", "operator:ops"]) == 0
    assert "request 2: queued (cleanup dry run, by operator:ops)" in capsys.readouterr().out
    assert main(["request", "cleanup", "--by", "42"]) == 1  # a user id: refused
    assert "only staff and operators may request a cleanup" in capsys.readouterr().err


def test_status_json_is_the_apps_update_status(app_db, capsys):
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["total_channels"] == 1 and status["quota_usage"] == {"used": 0, "limit": 8000, "remaining": 8000}
    assert status["next_scheduled_update"] is None and status["next_scheduled_update_reason"]
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "quota today: 0 used of 8000 (the pipeline's share), 8000 left" in out
    assert "next scheduled update: unknown (schedule states not read" in out


def test_status_reads_the_schedules_from_the_instance_named_by_dagster_home(app_db, monkeypatch, tmp_path, capsys):
    from datetime import datetime

    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["next_scheduled_update_reason"] is None
    assert datetime.fromisoformat(status["next_scheduled_update"]).minute in (0, 15, 30)
