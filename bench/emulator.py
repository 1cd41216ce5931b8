"""Throughput of the emulator's channels.list (50 ids per call) over keep-alive HTTP.

Runs the emulator as a separate process (as the CLI does) so client and server each
get a core, then drives it with httpx from a few threads. Four sweeps of the same
world: ``fresh`` ids were never served before (what a full refresh sees: every
channel computed from scratch), ``cached`` repeats them at the same simulated clock
(the per-clock item cache); each with the pipeline's own ``fields`` selector
(``CHANNEL_FIELDS``, the realistic case) and without it (full parts, ~2 KB per item).
The fresh sweeps use disjoint halves of the world so neither warms the other.

For each sweep the bench reports calls/s and the CPU seconds the server process and
this (client) process spent, so it is visible which side bounds the figure.
The last stdout line is one JSON object; ``calls_per_s`` is fresh ids with the
pipeline's fields selector.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time

import httpx

from channel_assets.emulator.world import channel_ids
from channel_assets.youtube.client import CHANNEL_FIELDS

_PARTS = "snippet,statistics,contentDetails"


def _cpu_s(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _drive(base_url: str, batches: list[list[str]], threads: int, fields: str | None) -> tuple[float, int]:
    """Send every batch once, spread over ``threads`` keep-alive clients; returns (seconds, errors)."""
    errors = 0
    lock = threading.Lock()
    extra = {"fields": fields} if fields else {}

    def worker(mine: list[list[str]]) -> None:
        nonlocal errors
        with httpx.Client(base_url=base_url, timeout=30) as client:
            for ids in mine:
                r = client.get("/youtube/v3/channels", params={
                    "part": _PARTS, "id": ",".join(ids), "maxResults": 50, "key": "local-emulator-key", **extra})
                if r.status_code != 200 or len(r.json()["items"]) == 0:
                    with lock:
                        errors += 1

    pool = [threading.Thread(target=worker, args=(batches[n::threads],)) for n in range(threads)]
    t0 = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return time.perf_counter() - t0, errors


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--channels", type=int, default=100_000)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from channel_assets.emulator.server import serve_main; "
         "sys.exit(serve_main(sys.argv[1:]))", "--channels", str(args.channels),
         "--seed", str(args.seed), "--port", "0", "--quota-limit", "100000000"],
        stdout=subprocess.PIPE, text=True)
    result: dict[str, object] = {}
    errors = 0
    try:
        base_url = proc.stdout.readline().split()[-1]
        ids = channel_ids(args.channels, args.seed)
        batches = [ids[n : n + 50] for n in range(0, len(ids), 50)]
        _drive(base_url, batches[:20], args.threads, None)  # connections and imports, not measured
        half = 20 + (len(batches) - 20) // 2
        sweeps = (("fresh_fields", batches[20:half], CHANNEL_FIELDS), ("fresh_full", batches[half:], None),
                  ("cached_fields", batches[20:half], CHANNEL_FIELDS), ("cached_full", batches[half:], None))
        for name, mine, fields in sweeps:
            server0, client0 = _cpu_s(proc.pid), time.process_time()
            seconds, err = _drive(base_url, mine, args.threads, fields)
            server_cpu, client_cpu = _cpu_s(proc.pid) - server0, time.process_time() - client0
            errors += err
            result[f"{name}_calls_per_s"] = round(len(mine) / seconds, 1)
            result[f"{name}_server_cpu_ms_per_call"] = round(server_cpu * 1000 / len(mine), 3)
            result[f"{name}_client_cpu_ms_per_call"] = round(client_cpu * 1000 / len(mine), 3)
            result[f"{name}_calls"] = len(mine)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    fresh = result["fresh_fields_calls_per_s"]
    print(json.dumps({"calls_per_s": fresh, "channels_per_s": round(float(fresh) * 50), **result,  # type: ignore[arg-type]
                      "threads": args.threads, "errors": errors}))


if __name__ == "__main__":
    main()
