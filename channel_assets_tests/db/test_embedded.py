"""The embedded PostgreSQL as the CLI uses it: started, joined, stopped by the last user, and back after
a crash with its data. One data directory for the module (initdb once); each test leaves it stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import psutil
import psycopg
import pytest
from sqlalchemy import text

from channel_assets.db.core.embedded import embedded_database, running_url
from channel_assets.db.core.engine import make_engine


def postmaster_pid(pgdata) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def alive(pid: int | None) -> bool:
    return pid is not None and psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE


def wait_gone(pid: int, timeout: float = 30) -> None:
    try:
        psutil.Process(pid).wait(timeout)
    except psutil.NoSuchProcess:
        pass


@pytest.fixture(scope="module")
def pgdata(tmp_path_factory):
    return tmp_path_factory.mktemp("embedded") / "pg"


def test_started_for_the_block_and_stopped_after_it(pgdata):
    with embedded_database(pgdata, "app") as url:
        pid = postmaster_pid(pgdata)
        assert alive(pid) and running_url(pgdata, "app") == url
        with make_engine(url).connect() as conn:
            assert conn.execute(text("SELECT current_database()")).scalar_one() == "app"
            assert conn.execute(text("SHOW server_version_num")).scalar_one().startswith("18")
    wait_gone(pid)
    assert not alive(pid) and running_url(pgdata, "app") is None


def test_a_user_killed_with_sigkill_does_not_keep_the_server_up_for_good(pgdata):
    """A command SIGKILLed while it used the server leaves it running; the next one joins it (no second
    server) and, being the last live user, stops it."""
    script = textwrap.dedent(f"""
        import os, signal, sys
        from pathlib import Path
        from channel_assets.db.core.embedded import embedded_database
        with embedded_database(Path({str(pgdata)!r}), "app"):
            print("up", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL and proc.stdout.strip() == "up", proc.stderr
    orphaned = postmaster_pid(pgdata)
    assert alive(orphaned)

    with embedded_database(pgdata, "app"):
        assert postmaster_pid(pgdata) == orphaned  # joined, not restarted
    wait_gone(orphaned)
    assert not alive(orphaned)


def test_a_crashed_server_comes_back_with_its_committed_data(pgdata):
    with embedded_database(pgdata, "app") as url:
        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS kept (n int)")
            conn.execute("INSERT INTO kept VALUES (42)")
        pid = postmaster_pid(pgdata)
        os.kill(pid, signal.SIGKILL)  # the postmaster dies; its stale postmaster.pid stays behind
        wait_gone(pid)
    assert (pgdata / "postmaster.pid").exists()

    with embedded_database(pgdata, "app") as url, make_engine(url).connect() as conn:
        assert alive(postmaster_pid(pgdata)) and postmaster_pid(pgdata) != pid
        assert conn.execute(text("SELECT n FROM kept")).scalars().all() == [42]
