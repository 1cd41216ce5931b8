"""Real receivers on 127.0.0.1, port 0: an HTTP server standing in for Slack's Web API and the
webhook, and an SMTP server (aiosmtpd). Tests assert on what arrived there."""

from __future__ import annotations

import json
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

SMTP_USER, SMTP_PASSWORD = "alerts", "smtp-Pa55word-very-secret"


class HttpReceiver:
    """Records every POST (path, headers, JSON body); `status` and `reply` decide the answer."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.status = 200
        self.reply: dict = {"ok": True}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.status < 300:
                    receiver.received.append({"path": self.path, "headers": dict(self.headers),
                                              "json": json.loads(body or b"null")})
                payload = json.dumps(receiver.reply).encode()
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[dict] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's naming)
        self.messages.append({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                              "data": envelope.content.decode("utf-8", "replace")})
        return "250 Message accepted for delivery"


class _PortZeroController(Controller):
    """aiosmtpd's Controller on port 0: learn the bound port before it probes itself."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = (auth_data.login.decode(), auth_data.password.decode()) == (SMTP_USER, SMTP_PASSWORD)
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture
def http_receiver():
    receiver = HttpReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def smtp_server():
    """Yields (mailbox, port); requires login (without TLS, as a local test server may)."""
    mailbox = _Mailbox()
    with warnings.catch_warnings():  # "AUTH without TLS": deliberate, on 127.0.0.1
        warnings.simplefilter("ignore")
        # PLAIN only: smtplib would retry a refused login with LOGIN, which aiosmtpd answers slowly.
        controller = _PortZeroController(mailbox, hostname="127.0.0.1", port=0, authenticator=_authenticate,
                                         auth_required=True, auth_require_tls=False,
                                         auth_exclude_mechanism=["LOGIN"])
        controller.start()
    yield mailbox, controller.port
    controller.stop()
