"""Throughput of the emulator's channels.list and videos.list (50 ids per call) over keep-alive HTTP.

Runs the emulator as a separate process (as the CLI does) so client and server each
get a core, then drives it with httpx from a few threads. Four sweeps of the same
world: ``fresh`` ids were never served before (what a full refresh sees: every
channel computed from scratch), ``cached`` repeats them at the same simulated clock
(the per-clock item cache); each with the pipeline's own ``fields`` selector
(``CHANNEL_FIELDS``, the realistic case) and without it (full parts, ~2 KB per item).
The fresh sweeps use disjoint halves of the world so neither warms the other.

Then videos.list, as a video metadata refresh calls it: ``--videos`` ids of the world's uploads
in shuffled order, after the clock moved ``--advance-days`` (so some are deleted, private,
rejected or region-blocked by then), every id asked once: ``videos_fresh_fields`` with a
refresh's ``fields`` selector (``VIDEO_FIELDS``), ``videos_fresh_full`` without it, on disjoint
halves. ``*_calls_per_server_cpu_s`` is the figure to hold against the target (a 1,000,000-video
refresh is 20,000 such calls).

For each sweep the bench reports calls/s and the CPU seconds the server process and
this (client) process spent, so it is visible which side bounds the figure.
The last stdout line is one JSON object; ``calls_per_s`` is fresh channel ids with the
pipeline's fields selector.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time

import httpx

from channel_assets.emulator.world import World, channel_ids
from channel_assets.youtube.client import CHANNEL_FIELDS

_PARTS = "snippet,statistics,contentDetails"
_VIDEO_PARTS = "snippet,contentDetails,statistics,status"
VIDEO_FIELDS = ("items(id,snippet(title,description,tags,thumbnails/default/url),contentDetails(duration,"
                "regionRestriction),statistics,status(privacyStatus,uploadStatus,embeddable))")


def _cpu_s(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _drive(base_url: str, batches: list[list[str]], threads: int, fields: str | None,
           method: str = "channels", part: str = _PARTS) -> tuple[float, int]:
    """Send every batch once, spread over ``threads`` keep-alive clients; returns (seconds, errors)."""
    errors = 0
    lock = threading.Lock()
    extra = {"fields": fields} if fields else {}

    def worker(mine: list[list[str]]) -> None:
        nonlocal errors
        with httpx.Client(base_url=base_url, timeout=30) as client:
            for ids in mine:
                r = client.get(f"/youtube/v3/{method}", params={
                    "part": part, "id": ",".join(ids), "maxResults": 50, "key": "local-emulator-key", **extra})
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


def _video_ids(channels: int, seed: int, count: int) -> list[str]:
    """``count`` ids of the world's uploads at its start, a few per channel, in shuffled order."""
    world = World(channels, seed)
    per_channel = max(1, -(-count // max(1, channels)) * 2)
    ids = [vid for i in range(channels) for vid, _ in world.uploads(i, 0, per_channel)]
    random.Random(seed).shuffle(ids)
    return ids[:count]


def _sweep(result: dict, name: str, pid: int, run: callable, calls: int) -> int:
    """Measure one sweep into ``result``; returns its errors."""
    server0, client0 = _cpu_s(pid), time.process_time()
    seconds, errors = run()
    server_cpu, client_cpu = _cpu_s(pid) - server0, time.process_time() - client0
    result[f"{name}_calls_per_s"] = round(calls / seconds, 1)
    result[f"{name}_server_cpu_ms_per_call"] = round(server_cpu * 1000 / calls, 3)
    result[f"{name}_client_cpu_ms_per_call"] = round(client_cpu * 1000 / calls, 3)
    result[f"{name}_calls"] = calls
    return errors


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--channels", type=int, default=100_000)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--videos", type=int, default=100_000, help="video ids for the videos.list sweeps")
    p.add_argument("--advance-days", type=float, default=3.0, help="clock moved before the videos.list sweeps")
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
            errors += _sweep(result, name, proc.pid, lambda m=mine, f=fields: _drive(base_url, m, args.threads, f),
                             len(mine))
        videos = _video_ids(args.channels, args.seed, args.videos)
        vbatches = [videos[n : n + 50] for n in range(0, len(videos), 50)]
        httpx.post(f"{base_url}/_emulator/clock", json={"advance_days": args.advance_days})
        _drive(base_url, vbatches[:20], args.threads, None, "videos", _VIDEO_PARTS)  # warm-up, not measured
        half = 20 + (len(vbatches) - 20) // 2
        for name, mine, fields in (("videos_fresh_fields", vbatches[20:half], VIDEO_FIELDS),
                                   ("videos_fresh_full", vbatches[half:], None)):
            errors += _sweep(result, name, proc.pid, lambda m=mine, f=fields: _drive(
                base_url, m, args.threads, f, "videos", _VIDEO_PARTS), len(mine))
            result[f"{name}_calls_per_server_cpu_s"] = round(1000 / result[f"{name}_server_cpu_ms_per_call"])
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    fresh = result["fresh_fields_calls_per_s"]
    print(json.dumps({"calls_per_s": fresh, "channels_per_s": round(float(fresh) * 50), **result,  # type: ignore[arg-type]
                      "threads": args.threads, "errors": errors, "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
                      "cores": os.cpu_count()}))


if __name__ == "__main__":
    main()
