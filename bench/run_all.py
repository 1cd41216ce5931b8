"""`make bench`: every scenario at its default scale, each in its own process, one results file.

Writes bench/results/latest.json and bench/results/<date>_<gitsha>.json: machine, commit, the machine's
CPU calibration at the start and the end of the run (bench/common.py ``calibration``; every scenario
records its own too), each scenario's JSON (its last stdout line) or its error, and the MISSION.md quality
bars evaluated. A failing scenario is recorded with its error and the others still run; the exit code is
1 then.

The ``*_under_app_load`` scenarios run each pipeline job quiet and beside the gallery app's traffic
(bench/app_load.py, 4 clients at 80 requests/s) on the same population in the same run, with an idle
baseline; their targets are Round 3's (app p99 <= 100 ms, max <= 1 s, no app-visible error, no app
backend waiting > 1 s on a pipeline lock, the job <= 25% slower than quiet). ``table_health`` runs 30
daily cycles on 100k channels on a throw-away stock PostgreSQL (autovacuum on; the shared server has it
off) and takes about an hour. ``videos_*`` (issue 20): the video metadata refresh of 1M due videos at 0 and
150 ms and of 100k (the cost curve's other point), each checked video by video against the emulator;
``videos_steady`` the second pass over the 1M a day after the first (reported, not a target).

    .venv/bin/python bench/run_all.py [--only refresh_0ms,sensor] [--quick]

``--quick`` runs every scenario at a small scale (a smoke test of the harness, not a measurement) and
writes bench/results/quick.json instead.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, calibration, git_sha  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PY = sys.executable

# name -> (argv, scale note or None); all at the full scale of the issue unless noted.
SCENARIOS: dict[str, tuple[list[str], str | None]] = {
    "emulator": (["bench/emulator.py"], None),
    "refresh_0ms": (["bench/refresh.py", "--channels", "100000", "--latency-ms", "0",
                     "--baseline-channels", "2000"], None),
    "refresh_150ms": (["bench/refresh.py", "--channels", "100000", "--latency-ms", "150",
                       "--baseline-channels", "200"], None),
    "uploads_0ms": (["bench/uploads.py", "--channels", "100000", "--latency-ms", "0"], None),
    "uploads_150ms": (["bench/uploads.py", "--channels", "100000", "--latency-ms", "150", "--feeds-in-flight", "64"],
                      "feeds at 64 in flight (YOUTUBE_MAX_FEEDS_IN_FLIGHT=64; at the default 32, 100k feed round "
                      "trips of 150 ms alone need >= 470 s)"),
    "cleanup": (["bench/cleanup.py", "--channels", "1000000", "--orphans", "20000", "--watch-rows", "10000000",
                 "--baseline-orphans", "200", "--baseline-faithful-orphans", "20"], None),
    "sensor": (["bench/sensor.py", "--subscriptions", "10000000", "--changes", "1000"], None),
    # The cost curve: the same refresh at 10k and 30k (100k is refresh_0ms), the cleanup at 100k channels
    # with orphans and watch rows in proportion (1M is cleanup). No baselines: time per channel only.
    "refresh_10k": (["bench/refresh.py", "--channels", "10000", "--latency-ms", "0", "--no-baseline"], None),
    "refresh_30k": (["bench/refresh.py", "--channels", "30000", "--latency-ms", "0", "--no-baseline"], None),
    "cleanup_100k": (["bench/cleanup.py", "--channels", "100000", "--orphans", "2000", "--watch-rows", "1000000",
                      "--no-baseline"], None),
    # Round 3: each job quiet and beside the app load (4 clients, 80 requests/s), same population, same run.
    "refresh_under_app_load": (["bench/refresh.py", "--channels", "100000", "--latency-ms", "0", "--no-baseline",
                                "--app-load", "4"], None),
    "uploads_under_app_load": (["bench/uploads.py", "--channels", "100000", "--latency-ms", "0", "--app-load", "4"],
                               None),
    "stats_snapshot_under_app_load": (["bench/stats_snapshot.py", "--channels", "100000", "--app-load", "4"], None),
    "cleanup_under_app_load": (["bench/cleanup.py", "--channels", "1000000", "--orphans", "20000", "--watch-rows",
                                "10000000", "--no-baseline", "--app-load", "4"], None),
    "restore_under_app_load": (["bench/restore.py", "--channels", "1000000", "--orphans", "20000", "--watch-rows",
                                "10000000", "--resubscribed", "1000", "--app-load", "4"], None),
    "table_health": (["bench/table_health.py", "--channels", "100000", "--days", "30", "--private-server"], None),
    # Issue 20: the video metadata refresh of 1M due videos at 0 and 150 ms, and 100k for its cost curve.
    "videos_0ms": (["bench/videos.py", "--videos", "1000000", "--latency-ms", "0"], None),
    "videos_150ms": (["bench/videos.py", "--videos", "1000000", "--latency-ms", "150"], None),
    "videos_100k": (["bench/videos.py", "--videos", "100000", "--latency-ms", "0"], None),
    # The second pass a day after the first (rows no longer grow): reported beside the first, not a target.
    "videos_steady": (["bench/videos.py", "--videos", "1000000", "--latency-ms", "0", "--steady-state"], None),
}
UNDER_APP_LOAD = ("refresh_under_app_load", "uploads_under_app_load", "stats_snapshot_under_app_load",
                  "cleanup_under_app_load", "restore_under_app_load")
TIMEOUTS = {"table_health": 7200}  # seconds, where a scenario needs more than --timeout
# (scenario, kind) per point of the cost curve, smallest first
COST_CURVE = (("refresh_10k", "refresh"), ("refresh_30k", "refresh"), ("refresh_0ms", "refresh"),
              ("cleanup_100k", "cleanup"), ("cleanup", "cleanup"), ("videos_100k", "videos"), ("videos_0ms", "videos"))
UNIT = {"refresh": "channels", "cleanup": "channels", "videos": "videos"}  # what a point's cost is per
QUICK = {
    "emulator": ["--channels", "5000"],
    "refresh_0ms": ["--channels", "5000", "--baseline-channels", "200"],
    "refresh_150ms": ["--channels", "5000", "--baseline-channels", "50"],
    "uploads_0ms": ["--channels", "5000"],
    "uploads_150ms": ["--channels", "5000"],
    "cleanup": ["--channels", "50000", "--orphans", "1000", "--watch-rows", "500000", "--baseline-orphans", "50",
                "--baseline-faithful-orphans", "5"],
    "sensor": ["--subscriptions", "200000", "--changes", "100"],
    "refresh_10k": ["--channels", "2000"],
    "refresh_30k": ["--channels", "3000"],
    "cleanup_100k": ["--channels", "20000", "--orphans", "400", "--watch-rows", "200000"],
    "refresh_under_app_load": ["--channels", "5000", "--idle-seconds", "5"],
    "uploads_under_app_load": ["--channels", "5000", "--idle-seconds", "5"],
    "stats_snapshot_under_app_load": ["--channels", "5000", "--repeat", "3", "--idle-seconds", "5"],
    "cleanup_under_app_load": ["--channels", "50000", "--orphans", "1000", "--watch-rows", "500000",
                               "--idle-seconds", "5"],
    "restore_under_app_load": ["--channels", "20000", "--orphans", "400", "--watch-rows", "200000",
                               "--resubscribed", "100", "--idle-seconds", "5"],
    "table_health": ["--channels", "2000", "--days", "3", "--settle-max-s", "0"],
    "videos_0ms": ["--videos", "5000"],
    "videos_150ms": ["--videos", "5000"],
    "videos_100k": ["--videos", "2000"],
    "videos_steady": ["--videos", "5000"],
}


def run(name: str, argv: list[str], timeout: int) -> dict:
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([PY, *argv], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s", "argv": argv}
    lines = [ln for ln in proc.stdout.strip().splitlines() if ln.strip()]
    try:
        out = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        out = {}
    if proc.returncode != 0 or not out or "error" in out:
        tail = proc.stderr.strip().splitlines()[-8:]
        out = {**out, "error": out.get("error") or f"exit {proc.returncode}", "stderr_tail": tail}
    out["argv"] = argv
    out["scenario_total_s"] = round(time.perf_counter() - t0, 1)
    return out


def targets(r: dict) -> dict:
    """MISSION.md's quality bars against the figures; None where the scenario did not produce them."""
    def get(name: str, key: str):
        return (r.get(name) or {}).get(key)

    def check(value, ok) -> dict:
        return {"value": value, "pass": None if value is None else bool(ok(value))}

    return {
        "channels_per_unit>=49": check(get("refresh_0ms", "channels_per_unit"), lambda v: v >= 49),
        "uploads_units_per_channel<=0.05": check(get("uploads_0ms", "units_per_channel"), lambda v: v <= 0.05),
        "refresh_100k_0ms_wall<=15s": check(get("refresh_0ms", "wall_s"), lambda v: v <= 15),
        "refresh_100k_150ms_wall<=25s": check(get("refresh_150ms", "wall_s"), lambda v: v <= 25),
        "uploads_100k_0ms_wall<=90s": check(get("uploads_0ms", "wall_s"), lambda v: v <= 90),
        "uploads_100k_150ms_wall<=300s": check(get("uploads_150ms", "wall_s"), lambda v: v <= 300),
        "refresh_peak_rss<=400MB": check(get("refresh_0ms", "peak_rss_mb"), lambda v: v <= 400),
        "refresh_speedup_150ms>=300x": check(get("refresh_150ms", "speedup_vs_baseline"), lambda v: v >= 300),
        "refresh_speedup_0ms>=5x": check(get("refresh_0ms", "speedup_vs_baseline"), lambda v: v >= 5),
        "refresh_db_matches_world": check(get("refresh_0ms", "db_matches_world"), lambda v: v is True),
        "cleanup_wall<=15s": check(get("cleanup", "wall_s"), lambda v: v <= 15),
        "cleanup_speedup>=5x": check(get("cleanup", "speedup_vs_baseline"), lambda v: v >= 5),
        "cleanup_rows_lost==0": check(get("cleanup", "rows_lost"), lambda v: v == 0),
        "sensor_tick<=1s": check(get("sensor", "tick_s"), lambda v: v <= 1),
        "sensor_missed_rows==0": check(get("sensor", "missed_rows"), lambda v: v == 0),
        **app_load_targets(r),
        **table_health_targets(r),
        **video_targets(r),
    }


def video_targets(r: dict) -> dict:
    """Issue 20's bars: videos per unit, the database equal to the world, 1M videos at 0 ms in <= 60 s within
    500 MB, nothing lost, the cost per video (beyond the fixed per-run cost) flat within ±25% from 100k to 1M."""
    def get(name: str, key: str):
        return (r.get(name) or {}).get(key)

    def check(value, ok) -> dict:
        return {"value": value, "pass": None if value is None else bool(ok(value))}

    curve = cost_curve(r)
    flat = [p.get("flat_25pct_beyond_fixed") for p in curve.values() if p["kind"] == "videos"]
    return {
        "videos_per_unit>=49": check(get("videos_0ms", "videos_per_unit"), lambda v: v >= 49),
        "videos_1M_0ms_wall<=60s": check(get("videos_0ms", "wall_s"), lambda v: v <= 60),
        "videos_peak_rss<=500MB": check(get("videos_0ms", "peak_rss_mb"), lambda v: v <= 500),
        "videos_db_matches_truth_0ms": check(get("videos_0ms", "mismatches"), lambda v: v == 0),
        "videos_db_matches_truth_150ms": check(get("videos_150ms", "mismatches"), lambda v: v == 0),
        "videos_rows_lost==0": check(get("videos_0ms", "rows_lost"), lambda v: v == 0),
        "videos_cost_curve_flat_25pct": check(all(flat) if len(flat) > 1 else None, lambda v: v),
    }


def app_load_targets(r: dict) -> dict:
    """Each *_under_app_load scenario's own Round 3 evaluation (bench/app_load.py app_load_result), prefixed."""
    out = {}
    for name in UNDER_APP_LOAD:
        section = (r.get(name) or {}).get("app_load") or {}
        for key, value in (section.get("targets") or {}).items():
            out[f"{name}:{key}"] = value
    return out


def table_health_targets(r: dict) -> dict:
    verdicts = (r.get("table_health") or {}).get("verdict") or {}
    return {f"table_health:{name}_bounded": {"value": v["verdict"], "pass": v["verdict"] == "bounded"}
            for name, v in verdicts.items() if isinstance(v, dict)}


def cost_curve(r: dict) -> dict:
    """Wall time and time per channel (video) at each scale; per kind, each point's cost relative to the
    largest scale's (flat means within ±25%); where the scenario reports its asset's own wall time, the
    same beyond its fixed per-run cost (``*_beyond_fixed``: the scenario's run repeated with nothing due)."""
    points = {}
    for name, kind in COST_CURVE:
        out = r.get(name) or {}
        unit = UNIT[kind]
        wall, n = out.get("wall_s"), out.get(unit)
        if wall is None or not n or "error" in out:
            continue
        points[name] = {"kind": kind, unit: n, "wall_s": wall, f"ms_per_{unit[:-1]}": round(wall / n * 1000, 4)}
        if out.get("fixed_run_s") is not None:  # the fixed per-run cost split out: the same run with nothing due
            points[name].update({"fixed_run_s": out["fixed_run_s"], f"ms_per_{unit[:-1]}_beyond_fixed":
                                 round((wall - float(out["fixed_run_s"])) / n * 1000, 4)})
    for kind, unit in UNIT.items():
        mine = [p for p in points.values() if p["kind"] == kind]
        if not mine:
            continue
        largest = max(mine, key=lambda p: p[unit])
        for suffix in ("", "_beyond_fixed"):
            key = f"ms_per_{unit[:-1]}{suffix}"
            if key not in largest:
                continue
            for p in mine:
                if key in p:
                    p[f"vs_largest{suffix}"] = round(p[key] / largest[key], 2)
                    p[f"flat_25pct{suffix}"] = abs(p[f"vs_largest{suffix}"] - 1) <= 0.25
    return points


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default="", help="comma-separated scenario names")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--timeout", type=int, default=1800, help="per scenario, seconds")
    p.add_argument("--merge", action="store_true",
                   help="keep the other scenarios' results from latest.json (re-run only --only ones)")
    args = p.parse_args()
    only = [n for n in args.only.split(",") if n]
    calibration_at_start = calibration()
    results: dict[str, dict] = {}
    if args.merge and (RESULTS / "latest.json").exists():
        results = json.loads((RESULTS / "latest.json").read_text())["results"]
    for name, (argv, note) in SCENARIOS.items():
        if only and name not in only:
            continue
        if args.quick:
            argv = [*argv, *QUICK[name]]  # argparse: the later value of an option wins
            note = "quick smoke scale"
        print(f"[bench] {name}: {' '.join(argv)}", file=sys.stderr, flush=True)
        out = run(name, argv, max(args.timeout, TIMEOUTS.get(name, 0)))
        if note:
            out["scale_note"] = note
        results[name] = out
        print(f"[bench] {name}: {json.dumps(out)}", file=sys.stderr, flush=True)
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "partial.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    sha = git_sha()
    doc = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "git_sha": sha,
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
        "calibration": {"at_start": calibration_at_start, "at_end": calibration()},
        "quick": args.quick, "results": results, "targets": targets(results), "cost_curve": cost_curve(results),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, indent=2, default=str)
    if args.quick:  # a smoke test never replaces the measured figures
        (RESULTS / "quick.json").write_text(text + "\n")
    else:
        (RESULTS / "latest.json").write_text(text + "\n")
        (RESULTS / f"{datetime.now(UTC):%Y-%m-%dT%H%M}_{sha}.json").write_text(text + "\n")
    print(json.dumps({"targets": doc["targets"], "errors": {k: v["error"] for k, v in results.items()
                                                            if "error" in v}}))
    sys.exit(1 if any("error" in v for v in results.values()) else 0)


if __name__ == "__main__":
    main()
