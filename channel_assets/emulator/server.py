"""HTTP front of the emulator: the Data API, the public feed, and ``/_emulator`` controls.

``ThreadingHTTPServer`` with HTTP/1.1 keep-alive and TCP_NODELAY on every accepted
socket (without it Nagle plus delayed ACK costs ~45 ms per keep-alive request).
Injected latency sleeps in the request's own thread, so slow answers overlap.
"""

from __future__ import annotations

import argparse
import gc
import json
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote_plus, urlsplit

from channel_assets.emulator.api import EmulatedApi, Response, error
from channel_assets.emulator.faults import Faults
from channel_assets.emulator.feed import html_error, render_feed
from channel_assets.emulator.world import STATUSES, World

DEFAULT_API_KEY = "local-emulator-key"
_STATE_MAX_LIMIT = 10_000
_VIDEO_STATE_MAX_IDS = 10_000


def _json(status: int, obj: object) -> Response:
    return Response(status, json.dumps(obj, ensure_ascii=False).encode())


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("timestamp needs a timezone (e.g. Z)")
    return value


_unquote_plus = lru_cache(maxsize=256)(unquote_plus)  # part/fields selectors repeat; id lists rarely need it


def split_target(target: str) -> tuple[str, dict[str, str]]:
    """Path and decoded query of a request target, as ``urlsplit`` and ``parse_qs(keep_blank_values=True)``
    give them; repeated parameters (id=a&id=b, as googleapiclient sends lists) join like comma lists.

    By hand because ``parse_qs`` unquotes a 50-id list piece by piece; here a value whose only escapes
    are the commas (%2C) is one ``replace``.
    """
    if target[:1] == "/" and "#" not in target:
        path, _, qs = target.partition("?")
    else:
        split = urlsplit(target)
        path, qs = split.path, split.query
    query: dict[str, str] = {}
    for pair in qs.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if "%" in value or "+" in value:
            plain = value.replace("%2C", ",").replace("%2c", ",")
            value = plain if "%" not in plain and "+" not in plain else _unquote_plus(value)
        query[name] = query[name] + "," + value if name in query else value
    return path, query


class Emulator:
    """Routes one request to the API, the feed or the controls; counts what it served."""

    def __init__(self, world: World, api_keys: Sequence[str], quota_limit: int) -> None:
        self.world = world
        self.faults = Faults()
        self.api = EmulatedApi(world, self.faults, tuple(api_keys), quota_limit)
        self._stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()

    def _count(self, name: str) -> None:
        with self._stats_lock:
            self._stats[name] += 1

    def respond(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        path, query = split_target(target)
        if path.startswith("/youtube/v3/"):
            name = path[len("/youtube/v3/"):]
            self._count(f"api.{name}")
            if self.faults.latency_s:
                time.sleep(self.faults.latency_s)
            if method != "GET":
                return error(405, "Method not allowed.", "methodNotAllowed")
            return self.api.handle(name, query, headers)
        if path == "/feeds/videos.xml":
            self._count("feed")
            if self.faults.latency_s:
                time.sleep(self.faults.latency_s)
            if self.faults.api_fault() == "error":
                return html_error(500)
            cfg = self.faults.config
            return render_feed(self.world, query.get("channel_id"),
                               cfg.feed_outage_status if cfg.feed_outage else None)
        if path.startswith("/_emulator/"):
            self._count("control")
            try:
                payload = json.loads(body) if body else {}
                return self._control(method, path[len("/_emulator/"):], query, payload)
            except (ValueError, TypeError, KeyError) as exc:
                return _json(400, {"error": str(exc)})
        self._count("other")
        return html_error(404)

    def _control(self, method: str, name: str, query: dict[str, str], payload: dict) -> Response:
        world = self.world
        if name == "clock":
            if method == "POST":
                if "now" in payload:
                    world.now = _parse_time(payload["now"])
                world.advance(days=float(payload.get("advance_days", 0)), hours=float(payload.get("advance_hours", 0)))
            return _json(200, {"clock": world.now.isoformat().replace("+00:00", "Z")})
        if name == "state" and method == "GET":
            return _json(200, self.state(int(query.get("offset", 0)), int(query.get("limit", 100))))
        if name == "quota" and method == "GET":
            now = world.now_ts
            limit = self.faults.config.quota_limit
            return _json(200, {"day": self.api.quota.day(now), "limit": self.api.quota.limit if limit is None else limit,
                               "used": self.api.quota.usage(now)})
        if name == "faults":
            if method == "DELETE":
                self.faults.clear()
            elif method == "POST":
                self.faults.configure(payload)
            return _json(200, self.faults.as_dict())
        if name == "stats" and method == "GET":
            with self._stats_lock:
                return _json(200, dict(self._stats))
        if name == "videos/state" and method in ("GET", "POST"):
            ids = payload["ids"] if method == "POST" else [v for v in query.get("ids", "").split(",") if v]
            return _json(200, self.video_state(ids))
        if name.startswith("videos/") and method == "POST":
            vid = name[len("videos/"):]
            if not world.is_video_id(vid):
                return _json(404, {"error": f"no video {vid} in this world"})
            if "status" in payload:
                world.set_video_status(vid, payload["status"])
            if "title" in payload:
                world.set_video_title(vid, payload["title"])
            if "description" in payload:
                world.set_video_description(vid, payload["description"])
            return _json(200, world.video_truth(vid))
        if name.startswith("channels/") and method == "POST":
            cid = name[len("channels/"):]
            if world.channel_index(cid) is None:
                return _json(404, {"error": f"no channel {cid} in this world"})
            if "status" in payload:
                if payload["status"] not in STATUSES:
                    raise ValueError(f"status must be one of {STATUSES}")
                world.set_status(cid, payload["status"])
            if "title" in payload:
                world.set_title(cid, payload["title"])
            if "description" in payload:
                world.set_description(cid, payload["description"])
            if "add_upload" in payload:
                spec = payload["add_upload"] or {}
                world.add_upload(cid, _parse_time(spec["published"]) if "published" in spec else None,
                                 spec.get("title"))
            return _json(200, self._channel_state(world.channel_index(cid)))
        return _json(404, {"error": f"unknown control {method} /_emulator/{name}"})

    def _channel_state(self, i: int) -> dict:
        c = self.world.channel(i)
        return {"id": c.id, "status": c.status, "title": c.title, "description": c.description,
                "subscriberCount": c.subscriber_count, "videoCount": c.video_count, "viewCount": c.view_count,
                "hiddenSubscriberCount": c.hidden_subscriber_count,
                "uploads": [vid for vid, _ in self.world.uploads(i, 0, c.video_count)]}

    def video_state(self, ids: list[str]) -> dict:
        """Ground truth for tests: ``World.video_truth`` of each id, in order."""
        if not isinstance(ids, list) or len(ids) > _VIDEO_STATE_MAX_IDS or not all(isinstance(v, str) for v in ids):
            raise ValueError(f"ids must be a list of at most {_VIDEO_STATE_MAX_IDS} video ids")
        return {"clock": self.world.now.isoformat().replace("+00:00", "Z"),
                "videos": [self.world.video_truth(v) for v in ids]}

    def state(self, offset: int = 0, limit: int = 100) -> dict:
        """Ground truth for tests: channels ``offset..offset+limit`` as channels.list would report them."""
        if offset < 0 or not 0 <= limit <= _STATE_MAX_LIMIT:
            raise ValueError(f"offset must be >= 0 and limit in [0, {_STATE_MAX_LIMIT}]")
        end = min(self.world.channels, offset + limit)
        return {"clock": self.world.now.isoformat().replace("+00:00", "Z"), "total": self.world.channels,
                "channels": [self._channel_state(i) for i in range(offset, end)]}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ESF"
    sys_version = ""
    timeout = 120  # idle keep-alive connections give their thread back eventually

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        """Silent: a busy benchmark would otherwise spend its time writing stderr."""

    def handle_one_request(self) -> None:
        """One request, parsed by hand: the stdlib's email-based header parsing costs more than
        answering a cached channels.list. Keep-alive rules as in ``BaseHTTPRequestHandler``."""
        try:
            line = self.rfile.readline(65_537)
        except TimeoutError:
            self.close_connection = True
            return
        if not line:
            self.close_connection = True
            return
        words = line.decode("latin-1").rstrip("\r\n").split()
        headers: dict[str, str] = {}
        for _ in range(101):
            raw = self.rfile.readline(65_537)
            if raw in (b"\r\n", b"\n", b""):
                break
            name, sep, value = raw.decode("latin-1").partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        else:
            words = []  # too many headers
        if len(words) != 3 or not words[2].startswith("HTTP/") or len(line) > 65_536:
            self.close_connection = True
            self.wfile.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        self.command, self.path, self.request_version = words
        conn = headers.get("connection", "").lower()
        self.close_connection = conn == "close" or (self.request_version == "HTTP/1.0" and conn != "keep-alive")
        self._handle(headers)

    def _handle(self, headers: dict[str, str]) -> None:
        length = int(headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        emulator: Emulator = self.server.emulator  # type: ignore[attr-defined]
        resp = emulator.respond(self.command, self.path, headers, body)
        fault = emulator.faults.body_fault() if resp.body_fault_allowed else None
        payload = resp.body[: len(resp.body) // 2] if fault == "malformed" else resp.body
        head = [f"HTTP/1.1 {resp.status} {self.responses.get(resp.status, ('',))[0]}",
                f"Content-Type: {resp.content_type}", "Server: ESF"]
        head += [f"{k}: {v}" for k, v in resp.headers.items()]
        if resp.status != 304:
            head.append(f"Content-Length: {len(resp.body) if fault == 'truncated' else len(payload)}")
        if fault == "truncated":
            payload = payload[: len(payload) // 2]
            self.close_connection = True
        elif self.close_connection:
            head.append("Connection: close")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)



class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        self.emulator = emulator
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, object]:
        sock, addr = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._open_lock:
            self._open.add(sock)
        return sock, addr

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        with self._open_lock:
            socks = list(self._open)
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class EmulatorServer:
    """The emulator on a real socket in a background thread; ``with EmulatorServer(world) as srv:``."""

    def __init__(self, world: World, host: str = "127.0.0.1", port: int = 0,
                 api_keys: Sequence[str] = (DEFAULT_API_KEY,), quota_limit: int = 10_000) -> None:
        self.world = world
        self.emulator = Emulator(world, api_keys, quota_limit)
        self.faults = self.emulator.faults
        self._host, self._port = host, port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("server not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> EmulatorServer:
        self._server = _Server((self._host, self._port), self.emulator)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="youtube-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.close_open_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_main(argv: list[str] | None = None) -> int:
    """``channel-assets emulator serve``: run until SIGINT/SIGTERM; first line of stdout names the URL."""
    p = argparse.ArgumentParser(prog="channel-assets emulator serve", description=__doc__)
    p.add_argument("--channels", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--api-key", action="append", dest="api_keys", help=f"repeatable; default {DEFAULT_API_KEY}")
    p.add_argument("--quota-limit", type=int, default=10_000)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--error-rate", type=float, default=0.0)
    p.add_argument("--rate-limit-rate", type=float, default=0.0)
    p.add_argument("--malformed-rate", type=float, default=0.0)
    p.add_argument("--feed-outage", action="store_true")
    p.add_argument("--start", type=_parse_time, default=None, help="simulated start, ISO 8601 with zone")
    p.add_argument("--lazy", action="store_true",
                   help="skip building every channel's constants before listening (for huge worlds)")
    args = p.parse_args(argv)
    world = World(args.channels, args.seed, args.start)
    if not args.lazy:
        world.prepare()
    server = EmulatorServer(world, args.host, args.port, tuple(args.api_keys or (DEFAULT_API_KEY,)),
                            args.quota_limit)
    server.faults.configure({"latency_ms": args.latency_ms, "error_rate": args.error_rate,
                             "rate_limit_rate": args.rate_limit_rate, "malformed_rate": args.malformed_rate,
                             "feed_outage": args.feed_outage})
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    server.start()
    # The prepared world and the item cache are long-lived and cycle-free: collections scanning them
    # cost a full refresh ~20 % of the emulator's CPU. Freeze what exists, collect young objects rarely
    # (and put both back on return: tests call this in their own process).
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 50, 50)
    print(f"listening on {server.base_url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        gc.set_threshold(*thresholds)
        gc.unfreeze()
    return 0


if __name__ == "__main__":
    sys.exit(serve_main())
