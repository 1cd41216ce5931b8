"""Operator tools (seed 000: force update, history, failed-updates review): the channel commands and the
set_channel_flags job change only with valid input, a reason and an actor, and log every change;
`channel-assets history` shows it newest first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from channel_assets.cli.main import main
from channel_assets.db.audit.update_log import AuditEvent, write_events
from channel_assets.db.core.engine import transaction
from channel_assets.defs.refresh.jobs import set_channel_flags
from channel_assets.defs.resources import AppDatabase
from channel_assets_tests.refresh.test_tiers import NOW, add_channel, cid, row


@pytest.fixture
def cli_db(monkeypatch, engine):
    monkeypatch.setenv("CHANNEL_ASSETS_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    return engine


def test_reset_failures_and_pin_are_logged_and_shown_in_history(cli_db, capsys):
    engine = cli_db
    add_channel(engine, 1, failed_update_count=6, last_error="forbidden (forbidden)",
                next_refresh_at=NOW + timedelta(days=7))
    with transaction(engine) as conn:
        write_events(conn, [
            AuditEvent("metadata", "success", NOW - timedelta(days=2), channel_id=cid(1), actor="channel_metadata"),
            AuditEvent("metadata", "failed", NOW - timedelta(days=1), channel_id=cid(1), error="forbidden (forbidden)",
                       error_type="access_denied", actor="channel_metadata", run_id="r9"),
        ])
    assert main(["channel", "reset-failures", cid(1), "--reason", "owner fixed it", "--actor", "ana"]) == 0
    assert main(["channel", "pin-frequency", cid(1), "--frequency", "daily", "--reason", "news", "--actor", "ana"]) == 0
    after = row(engine, 1)
    assert (after.failed_update_count, after.last_error, after.frequency_pinned, after.update_frequency) == (
        0, None, True, "daily")
    assert after.next_refresh_at <= after.updated_at  # due now: the next run retries it
    capsys.readouterr()

    assert main(["history", cid(1), "--limit", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert "operator" in lines[0] and "update_frequency: 'weekly' → 'daily'" in lines[0] and "by ana" in lines[0]
    assert "failed_update_count: 6 → 0" in lines[1] and "reason: owner fixed it" in lines[1]
    assert "[access_denied] forbidden (forbidden)" in lines[2] and "(run r9)" in lines[2]


def test_bad_input_changes_nothing_with_one_line_and_exit_2(cli_db, capsys):
    add_channel(cli_db, 1)
    for argv in (["channel", "mark-critical", "UCbad", "--reason", "r", "--actor", "a"],
                 ["channel", "mark-critical", cid(1), "UC" + "z" * 22, "--reason", "r", "--actor", "a"],
                 ["channel", "mark-critical", cid(1), "--reason", " ", "--actor", "a"],
                 ["channel", "unpin-frequency", cid(1), "--frequency", "daily", "--reason", "r", "--actor", "a"],
                 ["history", "UCbad"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("channel-assets: error:"), err
    assert not row(cli_db, 1).is_critical
    assert main(["history", cid(1)]) == 0  # nothing logged: nothing changed
    assert capsys.readouterr().out.startswith(f"no update-log rows for {cid(1)} yet")


def test_history_of_a_channel_never_stored_exits_1_with_one_line(cli_db, capsys):
    assert main(["history", cid(2)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "unknown channel" in captured.err


def test_job_marks_unavailable_and_fails_bad_config_with_one_line(engine):
    add_channel(engine, 1)
    resources = {"app_db": AppDatabase(database_url=engine.url.render_as_string(hide_password=False))}

    def run(**config):
        return set_channel_flags.execute_in_process(
            run_config={"ops": {"set_channel_flags_op": {"config": {"now": NOW.isoformat(), **config}}}},
            resources=resources, raise_on_error=False)

    bad = run(action="mark_unavailable", channel_ids=[cid(1), "UC" + "q" * 22], reason="spam", actor="ana")
    assert not bad.success
    [failure] = [e for e in bad.all_events if e.is_step_failure]
    assert "UCqqqqqqqqqqqqqqqqqqqqqq" in failure.step_failure_data.error.message
    assert row(engine, 1).is_available

    assert run(action="mark_unavailable", channel_ids=[cid(1)], reason="spam", actor="ana").success
    assert (row(engine, 1).is_available, row(engine, 1).unavailable_reason) == (False, "operator")
    assert run(action="mark_available", channel_ids=[cid(1)], reason="back", actor="ana").success
    assert row(engine, 1).is_available
    from channel_assets.definitions import defs

    assert defs.resolve_job_def("set_channel_flags")  # in the UI's Jobs, with a Launchpad
