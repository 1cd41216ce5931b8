"""A real Dagster deployment in subprocesses for the UI, GraphQL and deployment tests.

Processes log to files under the test's tmp dir (never to pipes a test could forget to drain), are
terminated and waited for on teardown, and their log tails are quoted in failures.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SEED = 7
USERS = 50
CHANNELS = 200
RUN_DONE = {"SUCCESS", "FAILURE", "CANCELED"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tool(name: str) -> str:
    """A console script of this venv (dagster, dagster-webserver, dagster-daemon, channel-assets)."""
    path = BIN / name
    return str(path) if path.exists() else (shutil.which(name) or name)


class Proc:
    """One child process in its own process group, its output in `log`."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], logs: Path, cwd: Path = ROOT):
        self.name, self.argv = name, list(argv)
        self.log = logs / f"{name}.log"
        self._fh = self.log.open("wb")
        self.popen = subprocess.Popen(self.argv, cwd=cwd, env=env, stdout=self._fh, stderr=subprocess.STDOUT,
                                      start_new_session=True)

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} (exit {self.popen.poll()}) ---\n" + "\n".join(text.splitlines()[-lines:])

    def signal(self, sig: int = signal.SIGTERM) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float = 8) -> None:
        """SIGTERM to the group (the webserver/daemon's code servers and run workers go with it), then wait."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        self._fh.close()


def wait_for(what: str, probe: Callable[[], Any], timeout: float, procs: Sequence[Proc] = (),
             interval: float = 0.5) -> Any:
    """Poll `probe` until it returns something truthy; fail with the processes' log tails."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        for p in procs:
            if p.popen.poll() is not None:
                raise AssertionError(f"{p.name} exited while waiting for {what}\n{p.tail()}")
        try:
            last = probe()
        except (httpx.HTTPError, OSError) as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    tails = "\n".join(p.tail() for p in procs)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r:.500})\n{tails}")


class DagsterStack:
    """dagster-webserver (+ dagster-daemon) on one instance, with the app's environment."""

    def __init__(self, home: Path, logs: Path, env: dict[str, str]) -> None:
        self.home, self.logs = home, logs
        self.env = dict(os.environ) | env | {"DAGSTER_HOME": str(home), "PYTHONUNBUFFERED": "1"}
        self.procs: list[Proc] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.http = httpx.Client(base_url=self.url, timeout=30)

    def start(self, name: str, argv: Sequence[str]) -> Proc:
        proc = Proc(name, argv, self.env, self.logs)
        self.procs.append(proc)
        return proc

    def start_webserver(self, workspace: Path) -> Proc:
        return self.start("webserver", [tool("dagster-webserver"), "-h", "127.0.0.1", "-p", str(self.port),
                                        "-w", str(workspace)])

    def start_daemon(self, workspace: Path) -> Proc:
        return self.start("daemon", [tool("dagster-daemon"), "run", "-w", str(workspace)])

    def close(self) -> None:
        """SIGTERM to every process group at once, then wait for each (a serial stop takes ~10 s each)."""
        self.http.close()
        for proc in self.procs:
            proc.signal()
        for proc in reversed(self.procs):
            proc.stop()

    def tails(self) -> str:
        return "\n".join(p.tail() for p in self.procs)

    # --- GraphQL ---------------------------------------------------------------------------------
    def gql(self, query: str, variables: dict | None = None) -> dict:
        resp = self.http.post("/graphql", json={"query": query, "variables": variables or {}})
        body = resp.json()
        assert resp.status_code == 200 and not body.get("errors"), f"GraphQL error: {body}"
        return body["data"]

    def wait_loaded(self, timeout: float = 90) -> str:
        """Wait for the code location; returns its name. Fails with its load error."""
        query = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
                    locationOrLoadError { __typename ... on PythonError { message } } } } } }"""

        def probe():
            entries = self.gql(query)["workspaceOrError"]["locationEntries"]
            for e in entries:
                if e["locationOrLoadError"] and e["locationOrLoadError"]["__typename"] == "PythonError":
                    raise AssertionError(f"code location failed to load: {e['locationOrLoadError']['message']}")
            return entries and all(e["loadStatus"] == "LOADED" for e in entries) and entries[0]["name"]

        return wait_for("the code location to load", probe, timeout, self.procs)

    def run(self, run_id: str) -> dict:
        query = """query($id: ID!) { runOrError(runId: $id) { __typename ... on Run { runId status jobName
                   tags { key value } } } }"""
        return self.gql(query, {"id": run_id})["runOrError"]

    def wait_run(self, run_id: str, timeout: float = 90) -> dict:
        run = wait_for(f"run {run_id} to finish", lambda: (r := self.run(run_id)).get("status") in RUN_DONE and r,
                       timeout, self.procs, interval=1)
        if run["status"] != "SUCCESS":
            raise AssertionError(f"run {run_id} ended {run['status']}:\n{self.run_errors(run_id)}\n{self.tails()}")
        return run

    def run_errors(self, run_id: str) -> str:
        query = """query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events { __typename
                   ... on MessageEvent { message level } ... on ErrorEvent { error { message } } } } } }"""
        events = self.gql(query, {"id": run_id})["logsForRun"].get("events", [])
        lines = [e["message"] + (f": {e['error']['message']}" if e.get("error") else "")
                 for e in events if e.get("level") in ("ERROR", "CRITICAL")]
        return "\n".join(lines)[-4000:]

    def stop_sensors(self, location: str) -> list[str]:
        """Stop every running sensor (as an operator would in the UI); returns their names."""
        query = """query($sel: RepositorySelector!) { sensorsOrError(repositorySelector: $sel) {
                   ... on Sensors { results { name sensorState { id status } } } } }"""
        sel = {"repositoryLocationName": location, "repositoryName": "__repository__"}
        stopped = []
        for sensor in self.gql(query, {"sel": sel})["sensorsOrError"]["results"]:
            if sensor["sensorState"]["status"] == "RUNNING":
                out = self.gql("""mutation($id: String) { stopSensor(id: $id) { __typename
                                  ... on StopSensorMutationResult { instigationState { status } } } }""",
                               {"id": sensor["sensorState"]["id"]})["stopSensor"]
                assert out.get("instigationState", {}).get("status") == "STOPPED", out
                stopped.append(sensor["name"])
        return stopped

    def stop_schedules(self, location: str) -> list[str]:
        """Stop every running schedule (Automation → toggle off); returns their names."""
        query = """query($sel: RepositorySelector!) { schedulesOrError(repositorySelector: $sel) {
                   ... on Schedules { results { name scheduleState { id status } } } } }"""
        sel = {"repositoryLocationName": location, "repositoryName": "__repository__"}
        stopped = []
        for schedule in self.gql(query, {"sel": sel})["schedulesOrError"]["results"]:
            if schedule["scheduleState"]["status"] == "RUNNING":
                out = self.gql("""mutation($id: String) { stopRunningSchedule(id: $id) { __typename
                                  ... on ScheduleStateResult { scheduleState { status } } } }""",
                               {"id": schedule["scheduleState"]["id"]})["stopRunningSchedule"]
                assert out.get("scheduleState", {}).get("status") == "STOPPED", out
                stopped.append(schedule["name"])
        return stopped


def app_env(database_url: str, emulator_url: str) -> dict[str, str]:
    from channel_assets.emulator import DEFAULT_API_KEY

    return {"CHANNEL_ASSETS_DATABASE_URL": database_url, "YOUTUBE_API_KEY": DEFAULT_API_KEY,
            "YOUTUBE_API_BASE_URL": emulator_url, "YOUTUBE_FEED_BASE_URL": emulator_url}


class Emulator:
    """`channel-assets emulator serve` as a child process (start_emulator_process), stopped on close."""

    def __init__(self, channels: int = CHANNELS, seed: int = SEED) -> None:
        from channel_assets.cli.main import start_emulator_process

        self.proc, self.url = start_emulator_process(channels, seed)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout:
            self.proc.stdout.close()
