"""Throughput of the emulator's channels.list (50 ids per call) over keep-alive HTTP.

Runs the emulator as a separate process (as the CLI does) so client and server each
get a core, then drives it with httpx from a few threads. ``cold`` sweeps channels
never served before (what a full refresh sees); ``warm`` repeats them (per-clock cache).
The last stdout line is one JSON object; ``calls_per_s`` is the cold figure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time

import httpx

from channel_assets.emulator.world import channel_ids


def _drive(base_url: str, batches: list[list[str]], threads: int) -> tuple[float, int]:
    """Send every batch once, spread over ``threads`` keep-alive clients; returns (seconds, errors)."""
    errors = 0
    lock = threading.Lock()

    def worker(mine: list[list[str]]) -> None:
        nonlocal errors
        with httpx.Client(base_url=base_url, timeout=30) as client:
            for ids in mine:
                r = client.get("/youtube/v3/channels", params={
                    "part": "snippet,statistics,contentDetails", "id": ",".join(ids), "key": "local-emulator-key"})
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
    try:
        base_url = proc.stdout.readline().split()[-1]
        ids = channel_ids(args.channels, args.seed)
        batches = [ids[n : n + 50] for n in range(0, len(ids), 50)]
        _drive(base_url, batches[:20], args.threads)  # connections and imports, not measured
        cold_s, cold_err = _drive(base_url, batches[20:], args.threads)
        warm_s, warm_err = _drive(base_url, batches[20:], args.threads)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    calls = len(batches) - 20
    result = {"calls_per_s": round(calls / cold_s, 1), "warm_calls_per_s": round(calls / warm_s, 1),
              "channels_per_s": round(calls * 50 / cold_s), "calls": calls, "threads": args.threads,
              "errors": cold_err + warm_err}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
