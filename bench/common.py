"""Shared benchmark plumbing: measurement, PostgreSQL template databases, the emulator subprocess.

Measurement: ``Measure`` samples the RSS of this process and of its children (the emulator) from
/proc every 20 ms while the measured block runs, and reads user+system CPU of this process and of
its live children from /proc (and RUSAGE_CHILDREN for waited ones). PostgreSQL backends are not our
children: their CPU is not in the figures (the database's share is seen in the profiles).

Every scenario prints one JSON object as its last stdout line (``emit``), with a CPU calibration
measured in the same run (``calibration``), so figures from two machines can be compared.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_ADMIN_DSN = os.environ.get("BENCH_PG_ADMIN_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1:5432")
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")
TEMPLATE_PREFIX = "ca_bench_"
# Bump when the generated population changes, so stale cached templates are rebuilt.
GENERATOR_VERSION = 3
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _terminated(signum: int, _frame: object) -> None:
    """SIGTERM unwinds like an exception, so the emulator subprocess is stopped and clones are dropped."""
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _terminated)


def log(*parts: object) -> None:
    """Progress goes to stderr so stdout's last line stays the JSON result."""
    print(*parts, file=sys.stderr, flush=True)


def emit(result: dict) -> None:
    """The scenario's one JSON line; the 1-minute load average says how busy the shared machine was,
    the calibration how fast this machine's CPU ran this run (skipped for a scenario that failed)."""
    if "error" not in result:
        result.setdefault("calibration", calibration())
    result.setdefault("loadavg_1m_at_end", round(os.getloadavg()[0], 2))
    result.setdefault("cores", os.cpu_count())
    result.setdefault("git_sha", git_sha())  # the code measured (others commit while benchmarks run)
    print(json.dumps(result, default=str), flush=True)


# -- CPU calibration ---------------------------------------------------------------------------------

PY_CALIBRATION_ADDS = 10_000_000
# generate_series in the select list (ProjectSet): pure CPU; in FROM it would fill a tuplestore and spill to disk.
PG_CALIBRATION_QUERY = "SELECT sum(x) FROM (SELECT generate_series(1, 5000000) AS x) AS s"


def _python_adds() -> float:
    started = time.perf_counter()
    total = 0
    for i in range(PY_CALIBRATION_ADDS):
        total += i
    return time.perf_counter() - started


def _pg_query_ms(conn: psycopg.Connection) -> float:
    started = time.perf_counter()
    conn.execute(PG_CALIBRATION_QUERY).fetchone()
    return (time.perf_counter() - started) * 1000


def calibration() -> dict:
    """Two fixed workloads, best of 3: 10M integer additions in a Python loop (s), and one CPU-bound
    query in the PostgreSQL server the benchmarks use (ms; no JIT, no parallel workers, so it measures
    one core). Machines differ 2-2.5x; a figure means little without the machine's own speed beside it."""
    python_s = min(_python_adds() for _ in range(3))
    try:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True, application_name="bench_calibration") as conn:
            conn.execute("SET jit = off")
            conn.execute("SET max_parallel_workers_per_gather = 0")
            pg_ms = min(_pg_query_ms(conn) for _ in range(3))
    except psycopg.Error as exc:
        log(f"PostgreSQL calibration failed: {exc!r}")
        pg_ms = None
    return {"python_10M_adds_s": round(python_s, 3),
            "pg_sum_5M_ms": None if pg_ms is None else round(pg_ms, 1),
            "loadavg_1m": round(os.getloadavg()[0], 2)}


# -- measurement -----------------------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    for child in list(out):
        out += _children(child)
    return out


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except OSError:
        return 0


def _cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError):
        return 0.0


@dataclass
class Measure:
    """Wall, CPU (self; self + children) and peak RSS (self; process tree) of a block; ``run(exclude=pids)``
    leaves out child processes that are not the pipeline's (the app load's clients). ``run(server=pid)``
    (``local_server_pid``) also sums the CPU of that PostgreSQL server's processes over the block (every
    database's backends and the server's own workers): the third party of a run's CPU, beside the pipeline
    and its children (the emulator)."""

    wall_s: float = 0.0
    cpu_s: float = 0.0
    cpu_tree_s: float = 0.0
    peak_rss_mb: float = 0.0
    peak_rss_tree_mb: float = 0.0
    server_cpu_s: float | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _exclude: frozenset[int] = frozenset()
    _server: int | None = None
    _server_cpu: dict[int, list[float]] = field(default_factory=dict)  # pid -> [at the start, latest]

    def _kids(self) -> list[int]:
        return [c for c in _children(os.getpid()) if c not in self._exclude]

    def _server_tick(self, first: bool = False) -> None:
        """Each server process's CPU; one that started after the block began counts from zero. A process
        that ends between two ticks loses at most a tick's CPU (0.2 s apart)."""
        for pid in (self._server, *_children(self._server)):
            cpu = _cpu(pid)  # 0.0 once the process is gone: CPU only grows, so max() keeps the last reading
            seen = self._server_cpu.setdefault(pid, [cpu if first else 0.0, cpu])
            seen[1] = max(seen[1], cpu)

    def _sample(self) -> None:
        """Every 50 ms: RSS of this process and its children, the children themselves looked up once a second
        (walking /proc/<pid>/task/*/children for a pipeline's ~20 threads took ~0.3 ms of the measured
        process's CPU, partly under its GIL: 0.6% of a core at every tick); a child living under a second
        can be missed."""
        me = os.getpid()
        tick = 0
        kids: list[int] = []
        while not self._stop.is_set():
            own = _rss(me)
            if tick % 20 == 0:
                kids = self._kids()
            tree = own + sum(_rss(c) for c in kids)
            self.peak_rss_mb = max(self.peak_rss_mb, own / 2**20)
            self.peak_rss_tree_mb = max(self.peak_rss_tree_mb, tree / 2**20)
            if self._server is not None and tick % 4 == 0:
                self._server_tick()
            tick += 1
            self._stop.wait(0.05)

    @contextmanager
    def run(self, exclude: Iterable[int] = (), server: int | None = None) -> Iterator[Measure]:
        me = os.getpid()
        self._exclude = frozenset(exclude)
        self._server = server
        if server is not None:
            self._server_tick(first=True)
        kids = self._kids()
        cpu0 = _cpu(me)
        kids0 = {c: _cpu(c) for c in kids}
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        sampler = threading.Thread(target=self._sample, daemon=True)
        sampler.start()
        t0 = time.perf_counter()
        try:
            yield self
        finally:
            self.wall_s = time.perf_counter() - t0
            self._stop.set()
            sampler.join()
            self.cpu_s = _cpu(me) - cpu0
            ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            waited = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
            live = sum(_cpu(c) - kids0.get(c, 0.0) for c in self._kids())
            self.cpu_tree_s = self.cpu_s + live + waited
            if server is not None:
                self._server_tick()
                self.server_cpu_s = sum(last - start for start, last in self._server_cpu.values())

    def as_dict(self, prefix: str = "") -> dict:
        out = {f"{prefix}wall_s": round(self.wall_s, 3), f"{prefix}cpu_s": round(self.cpu_s, 2),
               f"{prefix}cpu_tree_s": round(self.cpu_tree_s, 2),
               f"{prefix}peak_rss_mb": round(self.peak_rss_mb, 1),
               f"{prefix}peak_rss_tree_mb": round(self.peak_rss_tree_mb, 1)}
        if self.server_cpu_s is not None:
            out[f"{prefix}server_cpu_s"] = round(self.server_cpu_s, 2)
        return out


def local_server_pid() -> int | None:
    """The pid of the benchmark's PostgreSQL server (its postmaster) when it runs on this machine, so
    ``Measure`` can read its processes' CPU from /proc; None for a server elsewhere."""
    try:
        with _admin() as conn:  # the backend's parent is the postmaster; read while the backend lives
            return _postgres_parent(conn.execute("SELECT pg_backend_pid()").fetchone()[0])
    except psycopg.Error:
        return None


def _postgres_parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            parent = int(f.read().rsplit(")", 1)[1].split()[1])
        with open(f"/proc/{parent}/comm") as f:
            return parent if f.read().strip().startswith("postgres") else None
    except (OSError, ValueError, IndexError):
        return None


# -- PostgreSQL: cached template databases ------------------------------------------------------------

def pg_url(dbname: str) -> str:
    return f"postgresql+psycopg://{PG_USER}@{PG_HOST}/{dbname}"


def pg_dsn(dbname: str) -> str:
    host, port = PG_HOST.split(":")
    return f"host={host} port={port} user={PG_USER} dbname={dbname}"


def _admin() -> psycopg.Connection:
    return psycopg.connect(PG_ADMIN_DSN, autocommit=True)


def _template_state(name: str) -> tuple[bool, str | None]:
    with _admin() as conn:
        row = conn.execute(
            "SELECT d.datistemplate, shobj_description(d.oid, 'pg_database') FROM pg_database d WHERE datname = %s",
            (name,)).fetchone()
    return (bool(row[0]), row[1]) if row else (False, None)


def drop_database(name: str) -> None:
    is_template = _template_state(name)[0]
    with _admin() as conn:
        if is_template:
            conn.execute(sql.SQL("ALTER DATABASE {} IS_TEMPLATE false").format(sql.Identifier(name)))
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def schema_digest() -> str:
    """A digest of every migration file: a template built before any revision changed (a new one, or one
    re-chained under the same id) is never reused."""
    import hashlib

    versions = ROOT / "channel_assets" / "db" / "core" / "migrations" / "versions"
    digest = hashlib.sha1()
    for path in sorted(versions.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:10]


def template_name(scenario: str, scale: str, seed: int) -> str:
    name = f"{TEMPLATE_PREFIX}{scenario}_{scale}_s{seed}_g{GENERATOR_VERSION}_{schema_digest()}"
    return name[:63].lower()


def ensure_template(name: str, build: Callable[[str], dict], rebuild: bool = False, base: str | None = None) -> dict:
    """Build ``name`` once (``build(sqlalchemy_url)`` fills it) and mark it a template; with ``base``,
    it starts as a copy of that template (a population derived from another one).

    Returns {"cache_hit", "populate_s", **build info}; a hit costs nothing and reports the original
    build time from the database comment.
    """
    is_template, comment = _template_state(name)
    if is_template and comment and comment.startswith("{") and not rebuild:
        info = json.loads(comment)
        info["cache_hit"] = True
        return info
    drop_database(name)
    with _admin() as conn:
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if base:
            create = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(base))
        conn.execute(create)
    log(f"populating {name} ...")
    t0 = time.perf_counter()
    try:
        info = build(pg_url(name))
    except BaseException:
        drop_database(name)
        raise
    info["populate_s"] = round(time.perf_counter() - t0, 2)
    from channel_assets.db.core.engine import engine_for

    engine_for.cache_clear()
    with _admin() as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(json.dumps(info))))
        conn.execute(sql.SQL("ALTER DATABASE {} IS_TEMPLATE true").format(sql.Identifier(name)))
    log(f"populated {name} in {info['populate_s']} s")
    info["cache_hit"] = False
    return info


@contextmanager
def cloned_database(template: str, label: str) -> Iterator[tuple[str, float]]:
    """A fresh copy of ``template`` for one run; yields (sqlalchemy url, clone seconds); dropped after."""
    name = f"ca_benchrun_{label}_{os.getpid()}"[:63]
    drop_database(name)
    t0 = time.perf_counter()
    with _admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
    clone_s = time.perf_counter() - t0
    try:
        yield pg_url(name), clone_s
    finally:
        from channel_assets.db.core.engine import engine_for

        for engine in _engines_for(name):
            engine.dispose()
        engine_for.cache_clear()
        drop_database(name)


def _engines_for(dbname: str) -> list:
    from channel_assets.db.core.engine import engine_for

    out = []
    try:
        engine = engine_for(pg_url(dbname))
        out.append(engine)
    except Exception:  # noqa: BLE001 - best effort
        pass
    return out


def vacuum_analyze(dsn: str, tables: list[str] | None = None) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        if tables:
            for t in tables:
                conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(t)))
        else:
            conn.execute("VACUUM ANALYZE")


# -- the emulator as a subprocess ---------------------------------------------------------------------

class Emulator:
    """``python -m channel_assets.emulator.server`` in its own process, so its CPU is not our GIL."""

    def __init__(self, channels: int, seed: int, latency_ms: float = 0.0, quota_limit: int = 1_000_000_000,
                 start: str | None = None) -> None:
        cmd = [sys.executable, "-m", "channel_assets.emulator.server", "--channels", str(channels),
               "--seed", str(seed), "--port", "0", "--quota-limit", str(quota_limit),
               "--latency-ms", str(latency_ms)]
        if start:
            cmd += ["--start", start]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise RuntimeError(f"emulator did not start: {line!r}")
        self.base_url = line.split()[-1]
        self.http = httpx.Client(base_url=self.base_url, timeout=60)

    def stats(self) -> dict:
        return self.http.get("/_emulator/stats").json()

    def quota(self) -> dict:
        return self.http.get("/_emulator/quota").json()

    def faults(self, **settings: object) -> dict:
        return self.http.post("/_emulator/faults", json=settings).json()

    def state(self, offset: int, limit: int) -> dict:
        r = self.http.get("/_emulator/state", params={"offset": offset, "limit": limit})
        r.raise_for_status()
        return r.json()

    def clock(self) -> str:
        return self.http.get("/_emulator/clock").json()["clock"]

    def set_clock(self, now: str) -> str:
        """Move the simulated world to ``now`` (ISO 8601): uploads appear, statistics drift, channels go."""
        r = self.http.post("/_emulator/clock", json={"now": now})
        r.raise_for_status()
        return r.json()["clock"]

    def close(self) -> None:
        self.http.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def git_sha() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def require(condition: bool, message: str) -> None:
    """Fail loudly (exit 2, message on stderr and in the JSON) instead of reporting fake numbers."""
    if not condition:
        log(f"BENCHMARK CANNOT RUN: {message}")
        emit({"error": message})
        raise SystemExit(2)


# -- Dagster ----------------------------------------------------------------------------------------------

def code_location():
    """The code location's Definitions (channel_assets.definitions.defs), imported once per process."""
    from channel_assets.definitions import defs

    return defs


def warm_up() -> None:
    """Pay the process's one-time costs before a measured run: importing the code location (with the
    environment already set: the resources read which variables are set at import) and Dagster's first
    in-process run on a local instance (~2 s here). Two runs compared in one process then pay the same."""
    import tempfile

    import dagster as dg

    code_location()

    @dg.asset
    def bench_warm_up() -> int:
        return 1

    with tempfile.TemporaryDirectory() as home:
        instance = dg.DagsterInstance.local_temp(home)
        dg.materialize([bench_warm_up], instance=instance)
        instance.dispose()


def find_asset(name: str):
    """(AssetsDefinition producing ``name`` with the code location's resources bound, resources to pass)."""
    import dagster as dg

    defs = code_location()
    key = dg.AssetKey(name)
    require(defs.resolve_asset_graph().has(key), f"asset {name!r} is not defined by channel_assets.definitions")
    return defs.resolve_assets_def(key), {}


def materialize(names: list[str], *, tags: dict | None = None, partition_key: str | None = None,
                instance=None, config: dict[str, dict] | None = None) -> object:
    """Materialize the named assets in ONE in-process Dagster run with the code location's resources;
    ``config`` maps an asset name to its run config (e.g. {"channel_metadata": {"now": ...}})."""
    import dagster as dg

    assets = []
    resources: dict = {}
    for name in names:
        asset, resources = find_asset(name)
        if asset not in assets:
            assets.append(asset)
    run_config = {"ops": {name: {"config": c} for name, c in (config or {}).items()}}
    result = dg.materialize(assets, instance=instance or dg.DagsterInstance.ephemeral(),
                            resources=resources, tags=tags or {}, partition_key=partition_key,
                            selection=[dg.AssetKey(n) for n in names], raise_on_error=True,
                            run_config=run_config if config else None)
    return result


def all_shards_tags() -> dict:
    from channel_assets.db.core.sharding import shard_keys

    keys = shard_keys()
    return {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}


def materialization_metadata(result, name: str) -> list[dict]:
    """Plain-value metadata of every materialization of ``name`` in the run."""
    import dagster as dg

    out = []
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        if mat.asset_key == dg.AssetKey(name):
            out.append({k: getattr(v, "value", v) for k, v in mat.metadata.items()})
    return out
