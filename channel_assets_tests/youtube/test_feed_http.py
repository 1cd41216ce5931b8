"""The feed's own HTTP/1.1 path (``_FeedConnection`` on the standard library's ``http.client``) against a
scripted socket server: the body framings a feed host may use, keep-alive and its loss, gzip, and broken
answers that end as a failed feed (never an exception), classified as the httpx path classifies them."""

from __future__ import annotations

import gzip
import socket
import threading

import pytest

from channel_assets.youtube import YouTubeClient

from .conftest import CH1, KEY
from .test_feed import feed

BODY = feed()


def _ok(body: bytes = BODY, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/atom+xml\r\nContent-Length: %d\r\n%s\r\n%s" % (
        len(body), extra, body)


def _chunked(body: bytes) -> bytes:
    chunks = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(body[i:i + 700]), body[i:i + 700]) for i in range(0, len(body), 700))
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\nX-Trailer: t\r\n\r\n"


class Script:
    """Answers each request on a connection with the next scripted answer; `None` closes the connection
    without answering; an answer ending with the marker CLOSE is sent, then the connection closed; HANG
    never answers."""

    CLOSE, HANG = b"<<close>>", b"<<hang>>"

    def __init__(self, answers: list[bytes | None]) -> None:
        self.answers, self.requests, self.connections = list(answers), [], 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._conn, args=(conn,), daemon=True).start()

    def _conn(self, conn: socket.socket) -> None:
        with conn:
            buf = b""
            while self.answers:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                self.requests.append(head.decode())
                answer = self.answers.pop(0)
                if answer is None:
                    return
                if answer == self.HANG:
                    threading.Event().wait(3)
                    return
                close = answer.endswith(self.CLOSE)
                conn.sendall(answer.removesuffix(self.CLOSE))
                if close:
                    return

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def served():
    scripts: list[Script] = []

    def make(answers):
        script = Script(answers)
        scripts.append(script)
        client = YouTubeClient(f"http://127.0.0.1:{script.port}", KEY, timeout_s=2, connect_timeout_s=2)
        return client, script

    yield make
    for s in scripts:
        s.close()


def test_framings_and_keep_alive(served) -> None:
    zipped = gzip.compress(BODY)
    client, script = served([
        _ok(), _chunked(BODY), _ok(zipped, b"Content-Encoding: gzip\r\n"),
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (
            len(zipped), zipped),
        b"HTTP/1.1 100 Continue\r\n\r\n" + _ok(),
        b"HTTP/1.0 200 OK\r\n\r\n" + BODY + Script.CLOSE,  # no length: the body ends with the connection
        _ok(),
    ])
    with client:
        for _ in range(7):
            result = client.fetch_feed(CH1)
            assert result.ok and [e.video_id for e in result.entries] == ["dQw4w9WgXcQ", "CvTApw9X8aA"]
    assert script.connections == 2  # kept alive until the read-to-close body
    first = script.requests[0].split("\r\n")
    assert first[0] == f"GET /feeds/videos.xml?channel_id={CH1} HTTP/1.1"
    assert f"Host: 127.0.0.1:{script.port}" in first and "Accept-Encoding: gzip" in first
    assert not any(KEY in r for r in script.requests)


def test_statuses_and_a_closed_idle_connection(served) -> None:
    client, script = served([
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!",
        b"HTTP/1.1 301 Moved\r\nLocation: https://elsewhere.test/\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
        None,  # the server drops the kept-alive connection: reconnected once, transparently
        _ok(),
    ])
    with client:
        assert client.fetch_feed(CH1).failure == "http 404"
        assert client.fetch_feed(CH1).failure == "http 301"  # redirects are not followed
        assert client.fetch_feed(CH1).failure == "http 204"
        assert client.fetch_feed(CH1).ok
    assert script.connections == 2


@pytest.mark.parametrize("answer", [
    b"garbage\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 99999\r\n\r\nshort" + Script.CLOSE,
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + Script.CLOSE,
    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope",
    b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000 + b"\r\n\r\n",
    None,  # closed without an answer on a fresh connection
])
def test_broken_answers_are_connection_errors(served, answer) -> None:
    client, _ = served([answer])
    with client:
        result = client.fetch_feed(CH1)
    assert not result.ok and result.failure.startswith("connection error")


def test_an_unreadable_length_is_read_to_the_close_and_fails_as_an_empty_feed(served) -> None:
    """http.client reads a body whose Content-Length it cannot parse until the server closes."""
    client, _ = served([b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n"])
    with client:
        result = client.fetch_feed(CH1)
    assert not result.ok and result.failure == "empty"


def test_read_timeout_and_refused(served) -> None:
    client, _ = served([Script.HANG])
    client._feed_connection()._read_timeout = 0.2
    with client:
        result = client.fetch_feed(CH1)
    assert not result.ok and result.failure.startswith("timeout")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with YouTubeClient(f"http://127.0.0.1:{port}", KEY, timeout_s=1, connect_timeout_s=1) as refused:
        result = refused.fetch_feed(CH1)
    assert not result.ok and result.failure.startswith("connection error")
