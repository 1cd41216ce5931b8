"""serve_app_requests: one run serves a batch of the app's requests (channel_assets.requests.serve)."""

from contextlib import contextmanager

import dagster as dg

from channel_assets.db.refresh.quota_ledger import QuotaLedger
from channel_assets.defs.cycle import CycleConfig, cycle_metadata
from channel_assets.defs.refresh.api_session import one_line_failure
from channel_assets.defs.resources import AppDatabase, AppRequestsPolicy, PipelinePolicy, YouTubeApi
from channel_assets.refresh.quota_gate import CountingGate
from channel_assets.requests.cleanup_run import CleanupRules
from channel_assets.requests.serve import serve_requests
from channel_assets.youtube import ConfigurationError


class ServeRequestsConfig(CycleConfig):
    """The ids of channel_pipeline_requests rows to serve (the sensor sets them); those still queued are taken."""

    request_ids: list[int]


@dg.op(pool="youtube_api", tags={"domain": "requests"})
def serve_app_requests_op(context: dg.OpExecutionContext, config: ServeRequestsConfig, app_db: AppDatabase,
                          policy: PipelinePolicy, youtube: YouTubeApi,
                          requests_policy: AppRequestsPolicy) -> dg.Output:
    cycle = config.cycle(context, "app_requests")

    @contextmanager
    def open_api(ledger: QuotaLedger):
        gate = CountingGate(ledger)
        client = youtube.new_client(gate)
        try:
            yield gate, client
        finally:
            gate.release()
            client.close()

    try:
        summary = serve_requests(
            app_db.engine, cycle, config.request_ids, limits=requests_policy.limits(policy),
            cleanup=CleanupRules(policy.cooldown_days, policy.limits, policy.dry_run), open_api=open_api,
            video_rules=policy.video_tiers, in_flight=youtube.max_calls_in_flight)
    except ConfigurationError as exc:
        raise one_line_failure(exc) from None
    context.log.info(f"served {summary.claimed} of {len(config.request_ids)} request(s): {summary.done} done, "
                     f"{summary.failed} failed; {summary.channels} channel(s), {summary.videos} video(s): "
                     f"{dict(summary.outcomes)}")
    return dg.Output(None, metadata={
        **cycle_metadata(cycle), "requests_given": len(config.request_ids), "requests_served": summary.claimed,
        "requests_done": summary.done, "requests_failed": summary.failed, "channels": summary.channels,
        "videos": summary.videos, "outcomes": dg.MetadataValue.json(dict(summary.outcomes)),
        "quota_units": summary.quota_units, "cleanup_runs": summary.cleanups})


@dg.job(description="Serve the gallery app's requests (channel_pipeline_requests): refresh their channels or "
                    "videos, each once, or run the cleanup; each request's status and per-channel or per-video "
                    "outcome written back.",
        tags={"domain": "requests"})
def serve_app_requests():
    serve_app_requests_op()
