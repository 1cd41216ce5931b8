"""The API key must never reach a log line, an exception message, a repr or a traceback."""

import logging
import socket
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from channel_assets.youtube import YouTubeClient, YouTubeError, redact, register_secret
from channel_assets.youtube.redaction import RedactingFilter

from .conftest import CH1, channel_item, err, ok

SECRET = "AIzaSyREDACTION-canary-Zq9xW7vU5tS3rQ1pO"


def test_redact_helper():
    assert redact("GET https://x/y?part=a&key=abc123&id=1") == "GET https://x/y?part=a&key=***&id=1"
    assert redact("token s3cr3t-value here", secrets=["s3cr3t-value"]) == "token *** here"
    register_secret("registered-secret-42")
    assert "registered-secret-42" not in redact("in metadata: registered-secret-42")


def test_filter_rewrites_records_with_args():
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "HTTP Request: %s %s", ("GET", "u?key=zzz"), None)
    assert RedactingFilter().filter(record) is True
    assert record.getMessage() == "HTTP Request: GET u?key=***"


class _Handler(BaseHTTPRequestHandler):
    plan: list = []

    def do_GET(self):  # noqa: N802 (http.server API)
        action = self.plan.pop(0) if len(self.plan) > 1 else self.plan[0]
        if action == "slow":
            time.sleep(0.5)
            action = 500
        status = 200 if action == "ok" else action
        body = b'{"items": []}' if action == "ok" else b'{"error": {"code": %d, "message": "boom"}}' % status
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:  # the client already gave up (timeout test)
            pass

    def log_message(self, *args):  # the server's own access log would print the URL, key included
        pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_key_never_leaks(caplog, server, clock):
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []

    def run(client, action):
        try:
            action(client)
        except Exception as exc:
            texts.extend([str(exc), repr(exc), "".join(traceback.format_exception(exc))])
            assert isinstance(exc, YouTubeError | ValueError), type(exc)

    common = dict(sleep=clock.sleep, clock=clock, timeout_s=0.2, connect_timeout_s=0.2, max_attempts=3)
    base = f"http://127.0.0.1:{server.server_address[1]}"

    _Handler.plan = [500, 503, "ok", 400, 429, 429, 429, "slow", "slow", "slow", 500]
    with YouTubeClient(base, SECRET, breaker_threshold=20, **common) as real:
        texts.append(repr(real))
        run(real, lambda c: c.list_channels([CH1]))  # two 5xx retried, then ok
        run(real, lambda c: c.list_channels([CH1]))  # 400 configuration error
        run(real, lambda c: c.list_channels([CH1]))  # rate limited, retries exhausted
        run(real, lambda c: c.list_channels([CH1]))  # read timeouts
        run(real, lambda c: c.fetch_feed(CH1))
        texts.append(repr(real.breaker.state))

    with YouTubeClient(f"http://127.0.0.1:{_closed_port()}", SECRET, breaker_threshold=2, **common) as refused:
        run(refused, lambda c: c.list_channels([CH1]))  # connection refused, breaker opens
        run(refused, lambda c: c.list_channels([CH1]))  # circuit open
        run(refused, lambda c: c.fetch_feed(CH1))

    answers = iter([err(403, "forbidden"), httpx.Response(200, text="{trunc"), ok({"items": [channel_item(CH1)]})])

    def mock(request):
        if request.url.path.endswith("/videos"):
            raise httpx.ConnectError(f"cannot reach {request.url}")
        return next(answers)

    with YouTubeClient("https://yt.test", SECRET, transport=httpx.MockTransport(mock), **common) as mocked:
        run(mocked, lambda c: c.list_channels([CH1]))
        run(mocked, lambda c: c.list_channels([CH1]))
        run(mocked, lambda c: c.list_videos(["dQw4w9WgXcQ"]))
        run(mocked, lambda c: c.list_channels(["UC" + SECRET]))  # invalid id echoed in a ValueError

    logged = [r.getMessage() for r in caplog.records]
    logged += [logging.Formatter().formatException(r.exc_info) for r in caplog.records if r.exc_info]
    assert any("HTTP Request" in line for line in logged), "httpx request logging was not exercised"
    assert any("key=***" in line for line in logged)
    assert any("onnect" in t for t in texts) and any("circuit open" in t for t in texts)
    leaks = [t for t in logged + texts if SECRET in t]
    assert leaks == []
