import pytest

from channel_assets.cli.main import main


@pytest.fixture
def app_db(monkeypatch, pg_url):
    monkeypatch.setenv("CHANNEL_ASSETS_DATABASE_URL", pg_url)
    return pg_url


def test_help_on_every_command(capsys):
    for argv in (["--help"], ["db", "upgrade", "--help"], ["demo", "seed", "--help"], ["quota", "--help"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 0
    assert "usage" in capsys.readouterr().out


def test_db_upgrade_twice_is_a_noop(app_db, capsys):
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert "upgraded from empty" in out and "already at revision" in out


def test_demo_seed_refuses_a_non_empty_database(app_db, capsys):
    assert main(["demo", "seed", "--users", "20", "--channels", "50"]) == 0
    assert main(["demo", "seed", "--users", "20", "--channels", "50"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--force" in err
    assert main(["demo", "seed", "--users", "20", "--channels", "50", "--force"]) == 0


def test_bad_setting_is_one_line_not_a_traceback(monkeypatch, capsys):
    monkeypatch.setenv("YOUTUBE_QUOTA_DAILY_LIMIT", "-3")
    assert main(["quota"]) == 2
    err = capsys.readouterr().err
    assert "YOUTUBE_QUOTA_DAILY_LIMIT" in err and "Traceback" not in err


def test_quota_prints_today(app_db, capsys):
    main(["db", "upgrade"])
    assert main(["quota"]) == 0
    out = capsys.readouterr().out
    assert "America/Los_Angeles" in out and "left 8000" in out


def test_emulator_serve_prints_its_url_first():
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "channel_assets.cli", "emulator", "serve", "--channels", "5", "--port", "0"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:")
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_report_needs_a_schema_then_prints_tiers(app_db, capsys):
    assert main(["report"]) == 2
    assert "db upgrade" in capsys.readouterr().err
    assert main(["demo", "seed", "--users", "10", "--channels", "40"]) == 0
    assert main(["report"]) == 0
    out = capsys.readouterr().out
    assert "daily" in out and "quota" in out.lower()
