"""A throw-away PostgreSQL server with the stock configuration, for benchmarks that judge the server's defaults.

The machine's shared server runs with ``autovacuum = off`` (its CI configuration), so table health
"under default autovacuum" cannot be measured there. ``private_server()`` runs ``initdb`` into a
temporary directory with the machine's own PostgreSQL binaries (``pg_config --bindir``), starts it on a
free 127.0.0.1 port with nothing changed but where it listens, yields the BENCH_PG_* environment that
points bench/common.py at it, and stops and deletes it afterwards. As root the server runs as the
``postgres`` system user (PostgreSQL refuses root).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER_USER = "postgres"


def _bindir() -> Path:
    return Path(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--", *cmd] if os.geteuid() == 0 else cmd


@contextmanager
def private_server() -> Iterator[dict[str, str]]:
    """The environment (BENCH_PG_ADMIN_DSN, BENCH_PG_HOST, BENCH_PG_USER) of a fresh stock server."""
    bindir = _bindir()
    home = Path(tempfile.mkdtemp(prefix="bench_pg_"))
    data = home / "data"
    if os.geteuid() == 0:
        shutil.chown(home, SERVER_USER)
    port = _free_port()
    log = home / "server.log"
    try:
        subprocess.run(_as_server_user([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                                        "--no-sync"]), check=True, capture_output=True)
        subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-o",
                                        f"-c listen_addresses=127.0.0.1 -p {port} -k {home}", "start"]),
                       check=True, capture_output=True)
        yield {"BENCH_PG_ADMIN_DSN": f"host=127.0.0.1 port={port} user=postgres dbname=postgres",
               "BENCH_PG_HOST": f"127.0.0.1:{port}", "BENCH_PG_USER": "postgres", "BENCH_PRIVATE_PG": str(port)}
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                           capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
