"""The production deployment, run for real on the local PostgreSQL: the commands of docker-compose.yml's
services (migrate, user_code, webserver, daemon) as processes, the instance config the image uses
(deploy/dagster.postgres.yaml as $DAGSTER_HOME/dagster.yaml), app tables and Dagster instance in two
fresh databases. new_subscription_sensor (RUNNING by default) sees a subscription to a never-fetched
channel and its run goes through the QueuedRunCoordinator; the run's events are read back from
PostgreSQL with plain SQL."""

from __future__ import annotations

import shutil
import subprocess
import uuid

import psycopg
import pytest
import yaml
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

from channel_assets.db.core.engine import make_engine, transaction
from channel_assets.db.core.models import Channel, ChannelUpdateLog, User, UserChannel
from channel_assets.db.core.sharding import shard_of
from channel_assets.emulator.world import channel_ids
from channel_assets_tests.pg import ThrowawayPostgres, tcp_or_socket
from channel_assets_tests.ui.stack import ROOT, DagsterStack, Emulator, app_env, free_port, tool, wait_for

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DOCKER_WORKSPACE = "deploy/workspace.docker.yaml"


def local_command(service: str, **replace: str) -> list[str]:
    """The service's command from docker-compose.yml, with container-only values swapped for local ones
    (bind address, port, workspace file); every other argument stays exactly as composed."""
    argv = [replace.get(arg, arg) for arg in SERVICES[service]["command"]]
    return [tool(argv[0]), *argv[1:]]


def test_compose_services_run_what_this_test_runs():
    """The test below derives its commands from docker-compose.yml; this pins what they must be."""
    assert SERVICES["migrate"]["command"] == ["channel-assets", "db", "upgrade"]
    assert SERVICES["user_code"]["command"][:3] == ["dagster", "api", "grpc"]
    assert SERVICES["user_code"]["command"][-2:] == ["-m", "channel_assets.definitions"]
    assert SERVICES["webserver"]["command"][0] == "dagster-webserver"
    assert SERVICES["daemon"]["command"][:2] == ["dagster-daemon", "run"]
    for svc in ("webserver", "daemon"):
        assert SERVICES[svc]["command"][-2:] == ["-w", DOCKER_WORKSPACE]
    # the workspace reaches the user_code service on the port its command listens on
    location = yaml.safe_load((ROOT / DOCKER_WORKSPACE).read_text())["load_from"][0]["grpc_server"]
    grpc = SERVICES["user_code"]["command"]
    assert location["host"] == "user_code" and str(location["port"]) == grpc[grpc.index("-p") + 1]
    assert location["location_name"] == "channel_assets"
    # the image's instance config is the production file, and compose sets every variable it reads
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY deploy/dagster.postgres.yaml ${DAGSTER_HOME}/dagster.yaml" in dockerfile
    instance = yaml.safe_load((ROOT / "deploy" / "dagster.postgres.yaml").read_text())
    wanted = {v["env"] for v in instance["storage"]["postgres"]["postgres_db"].values()}
    assert wanted <= set(COMPOSE["x-app-env"]), wanted - set(COMPOSE["x-app-env"])
    for svc in ("migrate", "user_code", "webserver", "daemon"):
        assert wanted <= set(SERVICES[svc]["environment"]), svc


@pytest.fixture
def pg_deployment(tmp_path):
    with ThrowawayPostgres() as app_url, ThrowawayPostgres() as dagster_url:
        home, logs = tmp_path / "dagster_home", tmp_path / "logs"
        home.mkdir()
        logs.mkdir()
        shutil.copy(ROOT / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
        pg = make_url(dagster_url)
        host, port = tcp_or_socket(dagster_url)
        emulator = Emulator()
        env = app_env(app_url, emulator.url) | {
            "DAGSTER_PG_HOST": host, "DAGSTER_PG_PORT": str(port), "DAGSTER_PG_USER": pg.username,
            "DAGSTER_PG_PASSWORD": pg.password or "unused-with-trust-auth", "DAGSTER_PG_DB": pg.database}
        if host.startswith("/"):  # the embedded test server has a socket only: libpq finds it through PGHOST
            env |= {"DAGSTER_PG_HOST": "", "PGHOST": host}
        stack = DagsterStack(home, logs, env)
        try:
            yield stack, app_url, dagster_url, emulator
        finally:
            stack.close()
            emulator.close()


def test_sensor_run_goes_through_the_queue_and_lands_in_postgres(pg_deployment, tmp_path):
    stack, app_url, dagster_url, emulator = pg_deployment

    # migrate: the compose service's command, against the fresh app database
    migrate = subprocess.run(local_command("migrate"), cwd=ROOT, env=stack.env, capture_output=True, text=True,
                             timeout=120)
    assert migrate.returncode == 0, migrate.stderr
    assert "upgraded" in migrate.stdout

    # a user subscribes to a channel the pipeline has never fetched
    engine = make_engine(app_url)
    cid = channel_ids(5, 7)[0]
    with transaction(engine) as conn:
        user_id = conn.execute(insert(User).values(username="newcomer").returning(User.id)).scalar_one()
        channel = uuid.uuid4()
        conn.execute(insert(Channel).values(uuid=channel, channel_id=cid, shard=shard_of(cid)))
        conn.execute(insert(UserChannel).values(user_id=user_id, channel_id=channel))

    grpc_port = free_port()
    workspace = yaml.safe_load((ROOT / DOCKER_WORKSPACE).read_text())
    workspace["load_from"][0]["grpc_server"].update(host="127.0.0.1", port=grpc_port)
    local_workspace = tmp_path / "workspace.yaml"
    local_workspace.write_text(yaml.safe_dump(workspace))

    stack.start("user_code", local_command("user_code", **{"0.0.0.0": "127.0.0.1", "4000": str(grpc_port)}))
    wait_for("the gRPC code server", lambda: _port_open(grpc_port), 90, stack.procs)
    stack.start("webserver", local_command("webserver", **{"0.0.0.0": "127.0.0.1", "3000": str(stack.port),
                                                            DOCKER_WORKSPACE: str(local_workspace)}))
    assert stack.wait_loaded() == "channel_assets"
    stack.start("daemon", local_command("daemon", **{DOCKER_WORKSPACE: str(local_workspace)}))

    def sensor_run():
        runs = stack.gql("""{ runsOrError(filter: {tags: [{key: "dagster/sensor_name",
                             value: "new_subscription_sensor"}]}) { ... on Runs { results { runId status } } } }""")
        results = runs["runsOrError"]["results"]
        return results[0]["runId"] if results else None

    run_id = wait_for("new_subscription_sensor to request a run", sensor_run, 120, stack.procs, interval=1)
    run = stack.wait_run(run_id, timeout=120)
    assert run["jobName"] == "force_refresh_channels"

    # The instance's own tables in PostgreSQL, read with plain SQL.
    dsn = make_url(dagster_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        status, job = conn.execute("SELECT status, pipeline_name FROM runs WHERE run_id = %s", (run_id,)).fetchone()
        events = {row[0] for row in conn.execute(
            "SELECT DISTINCT dagster_event_type FROM event_logs WHERE run_id = %s", (run_id,))}
        tags = dict(conn.execute("SELECT key, value FROM run_tags WHERE run_id = %s", (run_id,)).fetchall())
        ticks = conn.execute("SELECT count(*) FROM job_ticks WHERE type = 'SENSOR' AND status = 'SUCCESS'"
                             ).fetchone()[0]
    assert (status, job) == ("SUCCESS", "force_refresh_channels")
    # enqueued by the QueuedRunCoordinator, launched by the daemon (STARTING), then ran to success
    assert {"PIPELINE_ENQUEUED", "PIPELINE_STARTING", "PIPELINE_SUCCESS",
            "STEP_SUCCESS"} <= events, events
    assert tags.get("channel_assets/trigger") == "new_subscription" and tags.get("dagster/sensor_name")
    assert ticks >= 1

    # and the app tables on the other database show the channel fetched by that run
    with engine.connect() as conn:
        assert conn.execute(select(Channel.last_updated).where(Channel.channel_id == cid)).scalar_one()
        assert conn.execute(select(ChannelUpdateLog.id).where(ChannelUpdateLog.run_id == run_id)).first()
    engine.dispose()


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0

