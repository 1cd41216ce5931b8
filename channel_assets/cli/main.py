"""`channel-assets`: the operator's command line. User mistakes end in one line on stderr, exit 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from channel_assets.settings import PROJECT_ROOT, SettingsError, load_settings

Command = Callable[[argparse.Namespace], int]


class UserError(Exception):
    """A mistake in the operator's input: printed as one line, never as a traceback."""


@contextmanager
def app_database() -> Iterator[str]:
    """The app database's URL for the command: CHANNEL_ASSETS_DATABASE_URL, or the embedded PostgreSQL.

    The embedded server is started (or joined, when another command already runs it) for the command
    and stopped when the last command using it ends; child processes (Dagster's) inherit the URL."""
    import os

    from channel_assets.db.core.embedded import EmbeddedPostgresError, embedded_database, psql_hint
    from channel_assets.settings import EMBEDDED_PGDATA

    settings = load_settings()  # a wrong setting fails here, before any server starts
    if os.environ.get("CHANNEL_ASSETS_DATABASE_URL", "").strip():
        yield settings.database_url
        return
    try:
        with embedded_database(EMBEDDED_PGDATA) as url:
            os.environ["CHANNEL_ASSETS_DATABASE_URL"] = url
            print(f"app database: embedded PostgreSQL in {EMBEDDED_PGDATA} (connect: {psql_hint(url)})",
                  file=sys.stderr)
            try:
                yield url
            finally:
                del os.environ["CHANNEL_ASSETS_DATABASE_URL"]
    except EmbeddedPostgresError as exc:
        raise UserError(str(exc)) from None


def _engine():
    """The app database as the pipeline uses it (its lock and statement timeouts; migrations lift them)."""
    from channel_assets.db.core.engine import make_engine

    s = load_settings()
    return make_engine(s.database_url, lock_timeout_ms=s.db_lock_timeout_ms, statement_timeout_s=s.db_statement_timeout_s)


def needs_database(command: Command) -> Command:
    """Run `command` with the app database up (the embedded one is stopped afterwards)."""

    def run(args: argparse.Namespace) -> int:
        with app_database():
            return command(args)

    run.__doc__ = command.__doc__
    return run


def _schema_errors():
    """Schema and connection failures of the db commands, as one line (the SQL traceback says nothing more)."""
    from sqlalchemy.exc import DBAPIError

    from channel_assets.db.core.adoption import IncompatibleSchemaError

    return IncompatibleSchemaError, DBAPIError


def _one_line(exc: BaseException) -> str:
    """The database's own message (first line, redacted), not SQLAlchemy's wrapper with the statement."""
    from channel_assets.youtube import one_line

    return one_line(str(getattr(exc, "orig", None) or exc).split("\n")[0])


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from channel_assets.db.core import migrate

    try:
        if args.sql:
            engine = _engine()
            print(migrate.plan_sql(engine) or f"-- nothing to run: the database is at revision "
                  f"{migrate.current_revision(engine)} (`db check` compares it with what the pipeline needs)")
            return 0
        before, after = migrate.upgrade(_engine())
    except _schema_errors() as exc:
        raise UserError(_one_line(exc)) from None
    if before == after:
        print(f"database already at revision {after}")
    else:
        print(f"database upgraded from {before or 'empty'} to {after}")
    return 0


def cmd_db_check(args: argparse.Namespace) -> int:
    from channel_assets.db.core import migrate

    try:
        lines, runnable = migrate.check(_engine())
    except _schema_errors() as exc:
        raise UserError(_one_line(exc)) from None
    for line in lines:
        print(line)
    if runnable:
        print("ok: the pipeline can run on this database" + (" (see above)" if lines else ""))
        return 0
    print("not ready: the pipeline cannot run on this database", file=sys.stderr)
    return 1


def cmd_demo_seed(args: argparse.Namespace) -> int:
    from channel_assets.db.core import migrate
    from channel_assets.db.demo_data import DatabaseNotEmptyError
    from channel_assets.demo_seed import seed_demo

    engine = _engine()
    migrate.upgrade(engine)
    try:
        counts = seed_demo(engine, users=args.users, channels=args.channels, seed=args.seed, force=args.force)
    except (DatabaseNotEmptyError, ValueError) as exc:
        raise UserError(str(exc)) from None
    print(
        f"seeded {counts.users} users, {counts.channels} channels, {counts.subscriptions} subscriptions, "
        f"{counts.videos} videos, {counts.watch_rows} watch-history rows ({counts.orphans} channels orphaned)"
    )
    return 0


def cmd_quota(args: argparse.Namespace) -> int:
    from channel_assets.defs.resources import PipelinePolicy

    policy = PipelinePolicy.from_settings(load_settings())
    status = policy.ledger(_engine()).status()
    print(f"quota day {status.day} (America/Los_Angeles)")
    print(f"  pipeline share {status.limit} of {policy.quota_daily_limit} units")
    print(f"  reserved {status.reserved}, used {status.used}, left {status.left}")
    if status.exhausted:
        print("  API answered quotaExceeded today: no calls until the reset")
    print(f"  resets at {status.resets_at.isoformat()}")
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    """Every setting: its variable, the value in effect (secrets masked) and where it comes from."""
    import os

    from channel_assets.settings import SETTINGS, settings_table

    if args.markdown:
        print(settings_table())
        return 0
    settings = load_settings()  # a wrong value ends here, in one line
    width = max(len(s.variable) for s in SETTINGS.values())
    for name, s in SETTINGS.items():
        value = getattr(settings, name)
        shown = "***" if s.secret and value else ",".join(value) if isinstance(value, tuple) else value
        source = "environment" if os.environ.get(s.variable, "").strip() else "default"
        print(f"{s.variable:<{width}}  {shown!s:<40}  ({source})")
    return 0


def cmd_demo_run(args: argparse.Namespace) -> int:
    import warnings

    warnings.filterwarnings("ignore", module="dagster")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from channel_assets.cli.demo import run_demo

    if args.users < 1 or args.channels < 20:
        raise UserError("demo run needs --users >= 1 and --channels >= 20")
    run_demo(load_settings().database_url, users=args.users, channels=args.channels, seed=args.seed)
    return 0


def start_emulator_process(channels: int, seed: int, port: int = 0):
    """The local emulator as a child process; returns (process, base_url) once it listens."""
    import subprocess

    proc = subprocess.Popen(
        [sys.executable, "-m", "channel_assets.cli", "emulator", "serve", "--channels", str(channels),
         "--seed", str(seed), "--port", str(port)],
        stdout=subprocess.PIPE, text=True,
    )
    line = proc.stdout.readline().strip() if proc.stdout else ""
    if not line.startswith("listening on "):
        proc.terminate()
        raise UserError(f"the local emulator did not start (said {line!r})")
    return proc, line.removeprefix("listening on ")


def cmd_dev(args: argparse.Namespace) -> int:
    import os
    import subprocess

    from channel_assets.db.core import migrate

    migrate.upgrade(_engine())
    env = dict(os.environ)
    emulator = None
    if not env.get("YOUTUBE_API_KEY"):
        emulator, url = start_emulator_process(args.channels, args.seed)
        env.update(YOUTUBE_API_BASE_URL=url, YOUTUBE_API_KEY="local-emulator-key")
        print(f"no YOUTUBE_API_KEY set: using the local emulator at {url}")
    print(f"Dagster UI on http://{args.host}:{args.port}")
    try:
        dagster = str(Path(sys.executable).with_name("dagster"))
        return subprocess.call(
            [dagster, "dev", "-h", args.host, "-p", str(args.port), "-w", str(PROJECT_ROOT / "workspace.yaml")],
            env=env, cwd=PROJECT_ROOT,
        )
    except KeyboardInterrupt:
        return 0
    finally:
        if emulator is not None:
            emulator.terminate()
            emulator.wait(timeout=10)


def cmd_report(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from channel_assets.db.core import migrate
    from channel_assets.defs.reporting.last_runs import instance_from_environment, last_scheduled_runs
    from channel_assets.defs.resources import PipelinePolicy
    from channel_assets.refresh.timetable import REPORT_RULES, REPORTED_SCHEDULES
    from channel_assets.reporting.freshness_report import (
        VideoReportRules,
        build_freshness_report,
        render_text,
    )

    engine = _engine()
    if migrate.current_revision(engine) is None:
        raise UserError("the database has no channel_assets schema yet: run `channel-assets db upgrade`")
    now = datetime.now(UTC)
    policy = PipelinePolicy.from_settings(load_settings())
    ledger = policy.ledger(engine)
    instance = instance_from_environment()
    last_runs = last_scheduled_runs(instance, REPORTED_SCHEDULES) if instance is not None else None
    videos = VideoReportRules(policy.video_tiers, policy.video_quota_limit)
    print(render_text(build_freshness_report(engine, now, ledger, REPORT_RULES, last_runs, videos)))
    return 0


HISTORY_VALUE_CHARS = 60


def _short(value) -> str:
    """A value as repr, one line, cut so a long description does not swallow the screen."""
    from channel_assets.youtube import one_line

    return one_line(repr(value), limit=HISTORY_VALUE_CHARS)


def _describe(row) -> str:
    """One history row as a line: what changed old→new, or the failure with its type; who did it."""
    changes = dict(row.changes_made or {})
    reason = changes.pop("reason", None)
    batch = changes.pop("batch", None)
    parts = [f"{k}: {_short(v[0])} → {_short(v[1])}" if isinstance(v, list) and len(v) == 2 else f"{k}: {_short(v)}"
             for k, v in changes.items()]
    if row.status == "failed":
        parts.insert(0, f"[{row.error_type or 'error'}] {row.error_message or ''}".strip())
    elif not parts and batch is None:
        parts.append("unchanged")
    if reason:
        parts.append(f"reason: {reason}")
    who = f"by {row.actor or '?'}" + (f" (run {row.run_id})" if row.run_id else "")
    return f"{row.created_at:%Y-%m-%d %H:%M:%S}  {row.update_type:<9} {row.status:<8} {'; '.join(parts)}  {who}"


def cmd_history(args: argparse.Namespace) -> int:
    from channel_assets.db.audit.history import channel_exists, channel_history
    from channel_assets.youtube import InvalidChannelId, validate_channel_ids

    try:
        [channel_id] = validate_channel_ids([args.channel_id])
    except InvalidChannelId as exc:
        raise UserError(str(exc)) from None
    if args.limit < 1:
        raise UserError("--limit must be at least 1")
    engine = _engine()
    rows = channel_history(engine, channel_id, args.limit)
    if not rows:
        if not channel_exists(engine, channel_id):
            print(f"channel-assets: unknown channel {channel_id}: not in videos_channel and no update-log rows",
                  file=sys.stderr)
            return 1
        print(f"no update-log rows for {channel_id} yet (within the log retention): it was never refreshed, "
              "changed or removed by the pipeline")
        return 0
    for row in rows:
        print(_describe(row))
    return 0


def cmd_channel(args: argparse.Namespace) -> int:
    from channel_assets.cycle import Cycle
    from channel_assets.refresh.operator_actions import apply_channel_action

    try:
        changed = apply_channel_action(_engine(), args.action.replace("-", "_"), args.channel_ids,
                                       reason=args.reason, cycle=Cycle.starting_now(actor=args.actor),
                                       frequency=args.frequency)
    except ValueError as exc:
        raise UserError(" ".join(str(exc).split())) from None
    print(f"{args.action}: {changed} channel(s) changed, logged in channel_update_logs (actor {args.actor})")
    return 0


def _print_request(req: dict) -> int:
    """One line per request (and its outcome per channel or video); exit 1 for a refused or failed request."""
    what = {"refresh": f"refresh of {len(req['channel_ids'] or [])} channel(s)",
            "video_refresh": f"refresh of video(s) {', '.join(req['video_ids'] or [])}"}.get(
        req["kind"], req["kind"].replace("_", " "))
    line = f"request {req['id']}: {req['status']} ({what}, by {req['requested_by']})"
    if req["status_reason"]:
        line += f": {req['status_reason']}"
    if req["run_id"]:
        line += f" [run {req['run_id']}]"
    print(line, file=sys.stderr if req["status"] in ("refused", "failed") else sys.stdout)
    for key, value in (req["outcome"] or {}).items():
        print(f"  {key}: {value}")
    return 1 if req["status"] in ("refused", "failed") else 0


def _requester(by: str) -> str | int:
    return int(by) if by.isdigit() else by


def cmd_request(args: argparse.Namespace) -> int:
    from channel_assets.app import api

    try:
        if args.request_command == "refresh":
            req = api.request_refresh(_engine(), args.channel_ids, _requester(args.by), args.reason)
        elif args.request_command == "videos":
            req = api.request_video_refresh(_engine(), args.video_ids, _requester(args.by), args.reason)
        elif args.request_command == "cleanup":
            req = api.request_cleanup(_engine(), dry_run=args.dry_run, requested_by=_requester(args.by),
                                      reason=args.reason)
        else:
            req = api.request_status(_engine(), args.request_id)
            if req is None:
                raise UserError(f"no request {args.request_id}")
    except (TypeError, ValueError) as exc:
        raise UserError(" ".join(str(exc).split())) from None
    except _schema_errors() as exc:
        raise UserError(_one_line(exc)) from None
    return _print_request(req)


def cmd_status(args: argparse.Namespace) -> int:
    """Seed 000's update status (the app's `update_status`), next run from the instance when DAGSTER_HOME is set."""
    import json

    from channel_assets.app import api
    from channel_assets.defs.reporting.last_runs import instance_from_environment

    schedules = None
    if instance_from_environment() is not None:
        from channel_assets.defs.requests.schedule_states import instance_schedule_states

        schedules = instance_schedule_states
    try:
        status = api.update_status(_engine(), schedules=schedules)
    except _schema_errors() as exc:
        raise UserError(_one_line(exc)) from None
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    q = status["quota_usage"]
    print(f"channels: {status['total_channels']}, updated today: {status['channels_updated_today']}, "
          f"failing: {status['failed_updates']}")
    print(f"last update: {status['last_update_run'] or 'never'}")
    print(f"quota today: {q['used']} used of {q['limit']} (the pipeline's share), {q['remaining']} left")
    print(f"next scheduled update: {status['next_scheduled_update'] or 'unknown'}"
          + (f" ({status['next_scheduled_update_reason']})" if status["next_scheduled_update_reason"] else ""))
    return 0


def cmd_videos_refresh(args: argparse.Namespace) -> int:
    """Mark videos for the next run, or (--now) refresh them at once within the video part of the quota."""
    from datetime import UTC, datetime

    from channel_assets.cycle import Cycle
    from channel_assets.defs.resources import PipelinePolicy
    from channel_assets.refresh.quota_gate import CountingGate
    from channel_assets.videos.requests import UnknownVideos, refresh_videos_now, request_videos
    from channel_assets.youtube import ConfigurationError, YouTubeClient

    s = load_settings()
    policy = PipelinePolicy.from_settings(s)
    engine = _engine()
    try:
        if not args.now:
            marked = request_videos(engine, args.video_ids, datetime.now(UTC), policy.video_tiers)
            print(f"{marked} video row(s) marked for the next refresh run "
                  f"({len(args.video_ids) - marked} already requested or stored more than once)"
                  if marked < len(args.video_ids) else f"{marked} video row(s) marked for the next refresh run")
            return 0
        cycle = Cycle.starting_now(actor="cli")
        gate = CountingGate(policy.video_ledger(engine))
        with YouTubeClient(s.youtube_api_base_url, s.youtube_api_key, quota=gate,
                           feed_base_url=s.youtube_feed_base_url) as client:
            summary = refresh_videos_now(engine, client, gate, cycle, args.video_ids, policy.video_tiers)
    except (UnknownVideos, ValueError, ConfigurationError) as exc:
        raise UserError(" ".join(str(exc).split())) from None
    print(f"{summary.answered} video(s) refreshed ({summary.written} changed, {summary.went} unavailable, "
          f"{summary.came_back} back, {summary.suspected} to confirm next run), {summary.failed} failed, "
          f"{summary.deferred_total} deferred; {summary.quota_units} quota unit(s)")
    return 1 if summary.failed else 0


def cmd_alerts_test(args: argparse.Namespace) -> int:
    from channel_assets.alerts.config import load_alert_config
    from channel_assets.alerts.notifiers import Message, SendError

    config = load_alert_config()
    if not config.notifiers:
        raise UserError("no alert channel configured: set CHANNEL_ASSETS_ALERTS_WEBHOOK_URL, "
                        "CHANNEL_ASSETS_ALERTS_SMTP_HOST, CHANNEL_ASSETS_ALERTS_SLACK_TOKEN or _SLACK_WEBHOOK_URL")
    message = Message("test", "info", "channel_assets: test alert",
                      "A test message from `channel-assets alerts test`: this channel works.", config.ui_url)
    failed = 0
    for notifier in config.notifiers:
        try:
            notifier.send(message)
            print(f"{notifier.name}: sent")
        except SendError as exc:
            failed += 1
            print(f"{notifier.name}: failed: {exc}")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    import os

    from channel_assets.refresh.operator_actions import ACTIONS

    parser = argparse.ArgumentParser(prog="channel-assets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="app database schema").add_subparsers(dest="db_command", required=True)
    up = db.add_parser("upgrade", help="create the pipeline's tables and columns, or adopt the app's existing "
                       "database (Alembic); a no-op when current")
    up.add_argument("--sql", action="store_true",
                    help="print the DDL it would run on this database (read only), for review")
    up.set_defaults(func=needs_database(cmd_db_upgrade))
    chk = db.add_parser("check", help="one line per missing or incompatible piece; exit 1 if the pipeline cannot "
                        "run on this database")
    chk.set_defaults(func=needs_database(cmd_db_check))

    demo = sub.add_parser("demo", help="demo data and the main job").add_subparsers(
        dest="demo_command", required=True
    )
    seed = demo.add_parser("seed", help="fill the database with a deterministic demo population")
    seed.add_argument("--users", type=int, default=300, help="number of users (default 300)")
    seed.add_argument("--channels", type=int, default=1000, help="number of channels (default 1000)")
    seed.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    seed.add_argument("--force", action="store_true", help="replace existing demo data")
    seed.set_defaults(func=needs_database(cmd_demo_seed))

    run = demo.add_parser("run", help="the main job: seed if empty, refresh, cleanup, a day later and again")
    run.add_argument("--users", type=int, default=300, help="users when seeding (default 300)")
    run.add_argument("--channels", type=int, default=1000, help="channels when seeding (default 1000)")
    run.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    run.set_defaults(func=needs_database(cmd_demo_run))

    emulator = sub.add_parser("emulator", help="local YouTube Data API v3 emulator").add_subparsers(
        dest="emulator_command", required=True
    )
    # Parsed by the emulator itself (see main): listed here so `--help` shows it.
    emulator.add_parser("serve", help="serve the emulator; `channel-assets emulator serve --help` for options")

    dev = sub.add_parser("dev", help="the Dagster UI with the demo settings (emulator unless YOUTUBE_API_KEY is set)")
    dev.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: localhost only)")
    dev.add_argument("--port", type=int, default=3000)
    dev.add_argument("--channels", type=int, default=1000, help="emulator world size (match demo seed)")
    dev.add_argument("--seed", type=int, default=7, help="emulator world seed (match demo seed)")
    dev.set_defaults(func=needs_database(cmd_dev))

    report = sub.add_parser("report", help="the freshness report: per tier, most stale, failing, quota, next runs; "
                            "updated today, last runs (with DAGSTER_HOME), capped/held channels, overdue orphans")
    report.set_defaults(func=needs_database(cmd_report))

    history = sub.add_parser("history", help="a channel's recent update-log rows, newest first: changes old→new, "
                             "failures with their type, removals, restores, operator actions, who did it")
    history.add_argument("channel_id", help="the channel id (UC + 22 characters)")
    history.add_argument("--limit", type=int, default=50, help="rows to show (default 50)")
    history.set_defaults(func=needs_database(cmd_history))

    channel = sub.add_parser("channel", help="operator tools for problem channels; every change is logged")
    channel.add_argument("action", choices=[a.replace("_", "-") for a in ACTIONS],
                         help="what to do with the channels")
    channel.add_argument("channel_ids", nargs="+", metavar="UC…", help="channel ids")
    channel.add_argument("--reason", required=True, help="why (goes into the update log)")
    channel.add_argument("--actor", required=True, help="who (goes into the update log)")
    channel.add_argument("--frequency", choices=("daily", "weekly", "monthly"),
                         help="with pin-frequency: the frequency to pin")
    channel.set_defaults(func=needs_database(cmd_channel))

    settings = sub.add_parser("settings", help="every setting: its variable, the value in effect (secrets masked) "
                              "and whether it comes from the environment or the default")
    settings.add_argument("--markdown", action="store_true", help="the README's configuration table instead")
    settings.set_defaults(func=cmd_settings)

    quota = sub.add_parser("quota", help="today's YouTube quota: used, reserved, left, next reset")
    quota.set_defaults(func=needs_database(cmd_quota))

    request = sub.add_parser("request", help="the gallery app's requests (channel_pipeline_requests): ask for a "
                             "refresh of channels or videos or a cleanup, see where one stands; served by app_requests_sensor").add_subparsers(
        dest="request_command", required=True)
    who = {"default": f"operator:{os.environ.get('USER') or 'cli'}",
           "help": "who asks: staff:<name>, operator:<name> (default operator:$USER) or a user id (user limits apply)"}
    refresh = request.add_parser("refresh", help="refresh these channels (each once, whoever else asked)")
    refresh.add_argument("channel_ids", nargs="+", metavar="UC…", help="channel ids")
    refresh.add_argument("--by", **who)
    refresh.add_argument("--reason", default="", help="why (kept with the request)")
    refresh.set_defaults(func=needs_database(cmd_request))
    videos = request.add_parser("videos", help="refresh these videos (already in videos_video; each once)")
    videos.add_argument("video_ids", nargs="+", metavar="ID", help="YouTube video ids (11 characters)")
    videos.add_argument("--by", **who)
    videos.add_argument("--reason", default="", help="why (kept with the request)")
    videos.set_defaults(func=needs_database(cmd_request))
    cleanup = request.add_parser("cleanup", help="run the cleanup cycle (staff and operators only)")
    cleanup.add_argument("--dry-run", action="store_true", help="report what it would remove, change nothing")
    cleanup.add_argument("--by", **who)
    cleanup.add_argument("--reason", default="", help="why (kept with the request)")
    cleanup.set_defaults(func=needs_database(cmd_request))
    req_status = request.add_parser("status", help="where a request stands, with its outcome per channel or video")
    req_status.add_argument("request_id", type=int)
    req_status.set_defaults(func=needs_database(cmd_request))

    status = sub.add_parser("status", help="seed 000's update status: channels, updated today, failing, quota, "
                            "last and next scheduled update (the app's update_status)")
    status.add_argument("--json", action="store_true", help="the ChannelUpdateStatus JSON the app gets")
    status.set_defaults(func=needs_database(cmd_status))

    videos = sub.add_parser("videos", help="the video metadata refresh").add_subparsers(
        dest="videos_command", required=True)
    vrefresh = videos.add_parser("refresh", help="refresh these videos on the next run (or --now)")
    vrefresh.add_argument("video_ids", nargs="+", metavar="ID", help="YouTube video ids (11 characters)")
    vrefresh.add_argument("--now", action="store_true",
                          help="refresh at once (needs the API settings), within the video part of the quota")
    vrefresh.set_defaults(func=needs_database(cmd_videos_refresh))

    alerts = sub.add_parser("alerts", help="alert channels").add_subparsers(dest="alerts_command", required=True)
    alerts.add_parser("test", help="send a test message on every configured channel; exit 1 if one fails"
                      ).set_defaults(func=cmd_alerts_test)
    return parser


def _stop_cleanly_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the embedded PostgreSQL is stopped on the way out."""
    import signal

    def _exit(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:2] == ["emulator", "serve"]:
        from channel_assets.emulator.server import serve_main

        return serve_main(argv[2:])
    parser = build_parser()
    args = parser.parse_args(argv)
    _stop_cleanly_on_sigterm()
    try:
        return args.func(args)
    except (UserError, SettingsError) as exc:
        print(f"channel-assets: error: {exc}", file=sys.stderr)
        return 2

