"""The operator's flows through Dagster's GraphQL API (dagster-graphql client) against a running
webserver + daemon: the asset graph as the UI shows it, one shard materialized through the run queue
with its checks and metadata, and the force-refresh job with a channel id."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dagster_graphql import DagsterGraphQLClient
from sqlalchemy import select

from channel_assets.db.core.models import Channel, ChannelUpdateLog
from channel_assets.db.core.sharding import shard_of

from .conftest import world_channel

SHARD = "03"
# One process per run instead of one per step: the same code path, a third of the wall time on 2 cores.
# The browser test launches with the default (multiprocess) executor, as the UI's buttons do.
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}

ASSET_NODES = """{ assetNodes { assetKey { path } groupName kinds description isPartitioned
  owners { ... on TeamAssetOwner { team } } tags { key value }
  freshness: internalFreshnessPolicy { __typename }
  assetChecksOrError { ... on AssetChecks { checks { name blocking } } } } }"""

MATERIALIZATION = """query($partition: String!) { assetOrError(assetKey: {path: ["channel_metadata"]}) {
  ... on Asset { assetMaterializations(partitions: [$partition], limit: 1) { runId partition
    metadataEntries { label __typename ... on IntMetadataEntry { intValue }
      ... on FloatMetadataEntry { floatValue } ... on TextMetadataEntry { text }
      ... on MarkdownMetadataEntry { mdStr } } } } } }"""

CHECKS = """{ assetNodes(assetKeys: [{path: ["channel_metadata"]}]) { assetChecksOrError { ... on AssetChecks {
  checks { name executionForLatestMaterialization { runId status
    evaluation { success severity metadataEntries { label } } } } } } } }"""


@pytest.fixture(scope="module")
def client(ui_stack):
    return DagsterGraphQLClient("127.0.0.1", port_number=ui_stack.dagster.port)


def test_repository_loads_with_the_asset_graph_operators_see(ui_stack):
    gql = ui_stack.dagster.gql
    repos = gql("{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } "
                "pipelines { name } sensors { name } schedules { name } } } } }")["repositoriesOrError"]["nodes"]
    assert len(repos) == 1
    repo = repos[0]
    jobs = {p["name"] for p in repo["pipelines"]}
    assert {"force_refresh_channels", "restore_channels", "override_held_removals", "refresh_all_shards"} <= jobs
    assert {s["name"] for s in repo["sensors"]} == {"new_subscription_sensor", "subscription_cleanup_sensor",
                                                  "alerts_sensor", "run_failure_alerts", "app_requests_sensor"}
    assert {"daily_full_refresh", "priority_refresh", "daily_cleanup"} <= {s["name"] for s in repo["schedules"]}

    nodes = {"/".join(n["assetKey"]["path"]): n for n in gql(ASSET_NODES)["assetNodes"]}
    groups = {name: n["groupName"] for name, n in nodes.items()}
    assert groups == {"channel_metadata": "refresh", "channel_uploads": "refresh", "channel_statistics": "refresh",
                      "channel_freshness_report": "reporting", "orphaned_channels": "cleanup",
                      "preserved_video_snapshots": "cleanup", "removed_channels": "cleanup", "alerts": "alerts"}
    for name, node in nodes.items():
        assert node["description"], f"{name} has no description"
        assert node["kinds"], f"{name} has no kinds"
        assert node["owners"], f"{name} has no owner"
        assert node["isPartitioned"] or name == "alerts", name  # alerts: one materialization per message
    assert "youtube" in nodes["channel_metadata"]["kinds"] and "youtube" in nodes["channel_uploads"]["kinds"]
    assert nodes["channel_metadata"]["freshness"] is not None
    checks = {c["name"]: c for c in nodes["channel_metadata"]["assetChecksOrError"]["checks"]}
    assert set(checks) == {"freshness_within_frequency", "within_30_day_policy", "update_success_rate",
                           "quota_under_warning_level", "quota_under_error_level", "quota_not_exceeded_early"}
    safety = nodes["preserved_video_snapshots"]["assetChecksOrError"]["checks"]
    assert [c["blocking"] for c in safety if c["name"] == "cleanup_safety_rules"] == [True]


def test_one_shard_through_the_queue_with_checks_and_metadata(ui_stack, client):
    """What the UI's Materialize does for one partition: the implicit asset job, one partition tag."""
    run_id = client.submit_job_execution("__ASSET_JOB", asset_selection=["channel_metadata"],
                                         tags={"dagster/partition": SHARD}, run_config=IN_PROCESS)
    run = ui_stack.dagster.wait_run(run_id)
    assert ("dagster/partition", SHARD) in {(t["key"], t["value"]) for t in run["tags"]}

    mats = ui_stack.dagster.gql(MATERIALIZATION, {"partition": SHARD})["assetOrError"]["assetMaterializations"]
    assert mats and mats[0]["runId"] == run_id and mats[0]["partition"] == SHARD
    meta = {e["label"]: e for e in mats[0]["metadataEntries"]}
    with ui_stack.engine.connect() as conn:
        in_shard = conn.execute(select(Channel.channel_id, Channel.last_updated)).all()
    refreshed_in_db = [cid for cid, updated in in_shard if shard_of(cid) == int(SHARD) and updated is not None]
    assert meta["due"]["intValue"] == sum(1 for cid, _ in in_shard if shard_of(cid) == int(SHARD))
    assert meta["refreshed"]["intValue"] == len(refreshed_in_db) > 0
    assert meta["quota_units"]["intValue"] >= 1
    assert meta["shards"]["text"] == SHARD
    assert meta["largest_changes"]["__typename"] == "MarkdownMetadataEntry"
    assert meta["largest_changes"]["mdStr"].startswith("| channel | title |")

    checks = ui_stack.dagster.gql(CHECKS)["assetNodes"][0]["assetChecksOrError"]["checks"]
    by_name = {c["name"]: c["executionForLatestMaterialization"] for c in checks}
    assert set(by_name) == {"freshness_within_frequency", "within_30_day_policy", "update_success_rate",
                            "quota_under_warning_level", "quota_under_error_level", "quota_not_exceeded_early"}
    for name, execution in by_name.items():
        assert execution and execution["runId"] == run_id, f"{name} did not run with the materialization"
        assert execution["status"] in ("SUCCEEDED", "FAILED"), (name, execution)
    assert by_name["within_30_day_policy"]["status"] == "SUCCEEDED"
    assert by_name["quota_not_exceeded_early"]["status"] == "SUCCEEDED"


def test_force_refresh_channels_with_a_channel_id(ui_stack, client):
    cid = world_channel(ui_stack.engine, exclude_shard=int(SHARD))
    launched = datetime.now(UTC)
    run_id = client.submit_job_execution(
        "force_refresh_channels", run_config=IN_PROCESS | {"ops": {"force_refresh_op": {"config": {"channel_ids": [cid]}}}})
    ui_stack.dagster.wait_run(run_id)
    assert client.get_run_status(run_id).value == "SUCCESS"
    with ui_stack.engine.connect() as conn:
        updated = conn.execute(select(Channel.last_updated).where(Channel.channel_id == cid)).scalar_one()
        # A change row exists only when the channel changed (the daemon's priority schedule may have
        # refreshed it already); the batch's summary row always records the run's call.
        logged = conn.execute(select(ChannelUpdateLog.status, ChannelUpdateLog.api_quota_used).where(
            ChannelUpdateLog.run_id == run_id, ChannelUpdateLog.update_type == "metadata")).all()
    assert updated is not None and updated >= launched
    assert logged and all(status == "success" for status, _ in logged), logged
    assert sum(units for _, units in logged) >= 1

    # a malformed id fails the run with one line naming it, and nothing changes
    bad = client.submit_job_execution(
        "force_refresh_channels", run_config=IN_PROCESS | {"ops": {"force_refresh_op": {"config": {"channel_ids": ["nope"]}}}})
    with pytest.raises(AssertionError, match="FAILURE"):
        ui_stack.dagster.wait_run(bad)
    assert "nope" in ui_stack.dagster.run_errors(bad)
