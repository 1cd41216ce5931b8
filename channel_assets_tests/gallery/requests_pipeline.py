"""The pipeline's side of the app's requests, as the daemon does it, in this process: one tick of
app_requests_sensor, then each run it asks for executed on the emulator (as channel_assets_tests/requests
launches them)."""

from __future__ import annotations

import dagster as dg

from channel_assets.defs.requests.jobs import serve_app_requests
from channel_assets.defs.requests.sensors import app_requests_sensor
from channel_assets.defs.resources import AppDatabase, AppRequestsPolicy, PipelinePolicy, YouTubeApi
from channel_assets.emulator import DEFAULT_API_KEY, EmulatorServer


def serve_requests(url: str, server: EmulatorServer) -> list[int]:
    """The ids of the requests the runs were given (each run must succeed)."""
    resources = {"app_db": AppDatabase(database_url=url), "policy": PipelinePolicy(),
                 "youtube": YouTubeApi(api_key=DEFAULT_API_KEY, base_url=server.base_url,
                                       feed_base_url=server.base_url, max_calls_in_flight=4),
                 "requests_policy": AppRequestsPolicy()}
    served: list[int] = []
    with dg.instance_for_test() as instance:
        tick = app_requests_sensor(dg.build_sensor_context(instance=instance,
                                                           resources={"app_db": resources["app_db"]}))
        for request in tick.run_requests:
            config = request.run_config["ops"]["serve_app_requests_op"]["config"]
            run = serve_app_requests.execute_in_process(
                run_config={"ops": {"serve_app_requests_op": {"config": config | {"now": server.world.now.isoformat()}}}},
                instance=instance, resources=resources, tags={**request.tags, "dagster/run_key": request.run_key})
            assert run.success
            served += config["request_ids"]
    return served
