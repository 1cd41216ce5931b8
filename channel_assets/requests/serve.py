"""Serving claimed requests in one run: each channel refreshed once, however many requests name it.

The run claims the queued requests it was given (a request is served by one run only), refreshes their
channels through the forced refresh (refresh.forced, then the uploads of exactly those channels), reads
back what the run wrote per channel, and finishes every request with its channels' outcomes. Staff and
operator channels spend the pipeline's share; channels only users asked for spend the user requests' own
cap within it (UserRequestLedger), and those refreshed in the last few minutes are answered from what
is stored. Video refresh requests go the same way through the refresh by id (videos.requests), on the
video part of the quota (a user's videos also within the user requests' cap: UserVideoRequestLedger),
each video id once; their outcomes are read back per video id. Cleanup requests run the cleanup cycle
once per mode (dry run first). If anything raises, the requests not finished yet are failed with the
one-line reason before the error goes on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from channel_assets.cycle import Cycle
from channel_assets.db.core.sharding import SHARD_COUNT
from channel_assets.db.refresh.quota_ledger import QuotaLedger, UserRequestLedger, UserVideoRequestLedger
from channel_assets.db.refresh.selection import live_channels
from channel_assets.db.requests.reads import known_channels, run_outcomes, stored_videos, video_run_outcomes
from channel_assets.db.requests.session import session
from channel_assets.db.requests.store import claim_requests, fail_requests, finish_requests
from channel_assets.db.videos.tiering import VideoTierRules
from channel_assets.refresh.forced import UnknownChannels, force_refresh
from channel_assets.refresh.quota_gate import CountingGate
from channel_assets.refresh.uploads import refresh_uploads
from channel_assets.requests.cleanup_run import CleanupRules, run_cleanup
from channel_assets.requests.intake import ANSWERED
from channel_assets.requests.limits import RequestLimits
from channel_assets.videos.requests import MAX_REQUESTED, UnknownVideos, refresh_videos_now
from channel_assets.youtube import YouTubeClient, one_line

ACTOR = "app_requests"
NOT_STORED = "failed: not in videos_channel (or soft-deleted)"
VIDEO_NOT_STORED = "failed: not in videos_video"
# (gate, client) on a ledger, closed at the end: the Dagster layer builds the client from its resource.
OpenApi = Callable[[QuotaLedger], AbstractContextManager[tuple[CountingGate, YouTubeClient]]]


@dataclass
class ServeSummary:
    claimed: int = 0
    done: int = 0
    failed: int = 0
    channels: int = 0
    videos: int = 0
    outcomes: Counter = field(default_factory=Counter)
    quota_units: int = 0
    cleanups: int = 0


def _wall() -> datetime:
    return datetime.now(UTC)


def channel_outcome(row: dict | None) -> str:
    """What the run's metadata refresh did to one channel, from its log row and state (reads.run_outcomes)."""
    if row is None:
        return NOT_STORED  # hard-deleted while the request waited
    if row["status"] == "failed":
        return f"failed: {one_line(row['error_message'] or 'unknown error', limit=200)}"
    if row["status"] == "success":
        changes = row["changes_made"] or {}
        if changes.get("is_available") == [True, False]:
            return "gone"
        return "refreshed" if changes else "unchanged"
    if not row["live"]:
        return NOT_STORED  # soft-deleted while the run started
    if row["written"] and not row["is_available"]:
        return "gone"  # confirmed missing again: no log row, the row rescheduled
    return "deferred"


def _refresh_group(engine: Engine, cycle: Cycle, ids: list[str], ledger: QuotaLedger, open_api: OpenApi,
                   in_flight: int, summary: ServeSummary) -> dict[str, str]:
    asked = list(ids)
    with open_api(ledger) as (gate, client):
        try:
            force_refresh(engine, client, gate, cycle, ids, in_flight=in_flight)
        except UnknownChannels:  # removed since the requests were checked: refresh those still stored
            ids = list(live_channels(engine, ids))
            if ids:
                force_refresh(engine, client, gate, cycle, ids, in_flight=in_flight)
        if ids:
            refresh_uploads(engine, client, gate, cycle, range(SHARD_COUNT), in_flight=in_flight, channel_ids=ids)
        summary.quota_units += gate.total
    with session(engine) as s:
        rows = run_outcomes(s, cycle.run_id, asked, cycle.now)
    return {cid: channel_outcome(rows.get(cid)) for cid in asked}


def serve_refresh(engine: Engine, cycle: Cycle, requests: Sequence[dict], limits: RequestLimits,
                  open_api: OpenApi, in_flight: int, summary: ServeSummary) -> tuple[dict[str, str], dict[str, str]]:
    """(channel -> outcome, group -> why its channels were deferred) for every channel the requests name."""
    forced: dict[str, None] = {}
    users: dict[str, None] = {}
    for r in requests:
        for cid in r["channel_ids"] or ():
            (forced if r["user_id"] is None else users).setdefault(cid, None)
    user_only = [cid for cid in users if cid not in forced]
    with session(engine) as s:
        known = known_channels(s, [*forced, *user_only])
    outcome = {cid: NOT_STORED for cid in [*forced, *user_only] if not (cid in known and known[cid]["live"])}
    fresh_since = cycle.now - limits.fresh_for
    for cid in user_only:
        last = known.get(cid, {}).get("last_updated")
        if cid not in outcome and limits.fresh_minutes > 0 and last is not None and last >= fresh_since:
            outcome[cid] = ANSWERED
    deferred_why = {}
    groups = (
        ([c for c in forced if c not in outcome], QuotaLedger(engine, limits.pipeline_limit, now=cycle.ledger_now),
         "the pipeline's quota share is spent for today"),
        ([c for c in user_only if c not in outcome],
         UserRequestLedger(engine, limits.pipeline_limit, limits.user_quota_limit, now=cycle.ledger_now),
         "today's quota for user requests is spent"),
    )
    for ids, ledger, why in groups:
        if ids:
            got = _refresh_group(engine, cycle, ids, ledger, open_api, in_flight, summary)
            outcome |= got
            if "deferred" in got.values():
                deferred_why.update(dict.fromkeys((c for c, o in got.items() if o == "deferred"), why))
    summary.channels += len(outcome)
    summary.outcomes.update(o.split(":")[0] for o in outcome.values())
    return outcome, deferred_why


def refresh_result(request: dict, outcome: dict[str, str], deferred_why: dict[str, str]) -> dict:
    """The request's finished row: its channels' (or videos') outcomes, a one-line summary, failed only if
    all failed."""
    asked = request["video_ids"] if request["kind"] == "video_refresh" else request["channel_ids"]
    mine = {i: outcome[i] for i in asked or ()}
    counts = Counter(o.split(":")[0] for o in mine.values())
    reason = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(counts.items()))
    whys = sorted({deferred_why[cid] for cid in mine if cid in deferred_why})
    if whys:
        reason += f" (deferred: {'; '.join(whys)})"
    status = "failed" if mine and set(counts) == {"failed"} else "done"
    return {"id": request["id"], "status": status, "status_reason": reason, "outcome": mine}


def video_outcome(row: dict | None) -> str:
    """What the run did to one video id, from its rows after the run (reads.video_run_outcomes)."""
    if row is None:
        return VIDEO_NOT_STORED  # deleted by the app while the request waited
    if not row["answered"]:
        return "deferred"  # not asked (quota, the circuit breaker), a failed call, or gone only once
    if row["unavailable"] is not None:
        return f"unavailable: {row['unavailable']}"
    return "refreshed" if row["written"] else "unchanged"


def _deferred_why(summaries: list) -> str:
    whys = [w for s in summaries for w in (s.stopped_by_quota, s.stopped_by_circuit) if w]
    failed = [f"{vid}: {error}" for s in summaries for vid, error in s.failures[:1]]
    return one_line("; ".join(whys + failed[:1]) or "not answered in this run", limit=200)


def _refresh_video_group(engine: Engine, cycle: Cycle, ids: list[str], ledger: QuotaLedger, open_api: OpenApi,
                         rules: VideoTierRules, in_flight: int, summary: ServeSummary) -> tuple[dict[str, str], str]:
    """(video -> outcome, why the deferred ones were) for a group spending one ledger."""
    summaries = []
    with open_api(ledger) as (gate, client):
        for start in range(0, len(ids), MAX_REQUESTED):
            part = ids[start:start + MAX_REQUESTED]
            try:
                summaries.append(refresh_videos_now(engine, client, gate, cycle, part, rules, in_flight=in_flight))
            except UnknownVideos:  # deleted since the requests were checked: refresh those still stored
                with session(engine) as s:
                    still = stored_videos(s, part)
                part = [vid for vid in part if vid in still]
                if part:
                    summaries.append(refresh_videos_now(engine, client, gate, cycle, part, rules,
                                                        in_flight=in_flight))
        summary.quota_units += gate.total
    with session(engine) as s:
        rows = video_run_outcomes(s, ids, cycle.now)
    return {vid: video_outcome(rows.get(vid)) for vid in ids}, _deferred_why(summaries)


def serve_videos(engine: Engine, cycle: Cycle, requests: Sequence[dict], limits: RequestLimits,
                 rules: VideoTierRules, open_api: OpenApi, in_flight: int,
                 summary: ServeSummary) -> tuple[dict[str, str], dict[str, str]]:
    """(video -> outcome, video -> why it was deferred) for every video the requests name, each refreshed once:
    staff and operator videos on the video part of the pipeline's share, those only users asked for also
    within the user requests' cap (or answered from stored when every row was refreshed a moment ago)."""
    forced: dict[str, None] = {}
    users: dict[str, None] = {}
    for r in requests:
        for vid in r["video_ids"] or ():
            (forced if r["user_id"] is None else users).setdefault(vid, None)
    user_only = [vid for vid in users if vid not in forced]
    with session(engine) as s:
        stored = stored_videos(s, [*forced, *user_only])
    outcome = {vid: VIDEO_NOT_STORED for vid in [*forced, *user_only] if vid not in stored}
    fresh_since = cycle.now - limits.fresh_for
    for vid in user_only:
        last = stored.get(vid)
        if vid not in outcome and limits.fresh_minutes > 0 and last is not None and last >= fresh_since:
            outcome[vid] = ANSWERED
    groups = (
        ([v for v in forced if v not in outcome],
         QuotaLedger(engine, limits.pipeline_limit, now=cycle.ledger_now, video_limit=limits.video_limit)),
        ([v for v in user_only if v not in outcome],
         UserVideoRequestLedger(engine, limits.pipeline_limit, limits.user_quota_limit, limits.video_limit,
                                now=cycle.ledger_now)),
    )
    deferred_why = {}
    for ids, ledger in groups:
        if ids:
            got, why = _refresh_video_group(engine, cycle, ids, ledger, open_api, rules, in_flight, summary)
            outcome |= got
            deferred_why.update(dict.fromkeys((v for v, o in got.items() if o == "deferred"), why))
    summary.videos += len(outcome)
    summary.outcomes.update(o.split(":")[0] for o in outcome.values())
    return outcome, deferred_why


def serve_requests(engine: Engine, cycle: Cycle, request_ids: Sequence[int], *, limits: RequestLimits,
                   cleanup: CleanupRules, open_api: OpenApi, video_rules: VideoTierRules,
                   in_flight: int = 16) -> ServeSummary:
    """Claim, serve and finish the given requests (see the module docstring); `cycle.run_id` is the run."""
    cycle = cycle.by(ACTOR)
    summary = ServeSummary()
    with session(engine) as s:
        claimed = claim_requests(s, request_ids, cycle.run_id, _wall())
    summary.claimed = len(claimed)
    results: list[dict] = []
    try:
        refresh = [r for r in claimed if r["kind"] == "refresh"]
        if refresh:
            outcome, why = serve_refresh(engine, cycle, refresh, limits, open_api, in_flight, summary)
            results += [refresh_result(r, outcome, why) for r in refresh]
        videos = [r for r in claimed if r["kind"] == "video_refresh"]
        if videos:
            outcome, why = serve_videos(engine, cycle, videos, limits, video_rules, open_api, in_flight, summary)
            results += [refresh_result(r, outcome, why) for r in videos]
        cleanups = [r for r in claimed if r["kind"] in ("cleanup", "cleanup_dry_run")]
        counts = {dry: run_cleanup(engine, cycle, cleanup, dry_run=dry)
                  for dry in sorted({r["kind"] == "cleanup_dry_run" for r in cleanups}, reverse=True)}
        summary.cleanups = len(counts)
        results += [{"id": r["id"], "status": "done", "outcome": counts[r["kind"] == "cleanup_dry_run"],
                     "status_reason": "dry run: nothing was changed" if counts[r["kind"] == "cleanup_dry_run"]["dry_run"]
                     else "cleanup done"} for r in cleanups]
    except Exception as exc:
        finished = {r["id"] for r in results}
        with session(engine) as s:
            finish_requests(s, results, cycle.run_id, _wall())
            fail_requests(s, [r["id"] for r in claimed if r["id"] not in finished],
                          f"the run failed: {one_line(exc, limit=200)}; send it again", _wall())
        raise
    with session(engine) as s:
        finish_requests(s, results, cycle.run_id, _wall())
    summary.done = sum(r["status"] == "done" for r in results)
    summary.failed = len(results) - summary.done
    return summary
