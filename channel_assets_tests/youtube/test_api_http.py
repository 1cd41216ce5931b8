"""The API's own HTTP/1.1 path (``_KeepAliveConnection``, one per calling thread) against a scripted socket
server: the request it sends, keep-alive and its loss, gzip, and every failure classified, retried and
counted as the httpx path does it, with the key in no error."""

from __future__ import annotations

import gzip
import json
import socket
import threading
from urllib.parse import parse_qs, urlsplit

import pytest

from channel_assets.youtube import QuotaExceeded, TransientError, YouTubeClient, YouTubeError
from channel_assets.youtube.client import CHANNEL_FIELDS

from .conftest import CH1, CH2, KEY, FakeClock, FakeQuota, fixture_json
from .test_feed_http import Script, _chunked, _ok

IDS = [CH1, CH2]


def _answer() -> bytes:
    return json.dumps(fixture_json("apidata__channels__info_multiple.json")).encode()


def _error(status: int, reason: str, domain: str = "youtube.quota") -> bytes:
    body = json.dumps({"error": {"code": status, "message": "no", "errors": [{"reason": reason, "domain": domain}]}})
    return b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        status, len(body), body.encode())


@pytest.fixture
def served():
    scripts: list[Script] = []

    def make(answers, **kwargs):
        script = Script(answers)
        scripts.append(script)
        quota, clock = FakeQuota(), FakeClock()
        client = YouTubeClient(f"http://127.0.0.1:{script.port}", KEY, timeout_s=2, connect_timeout_s=2,
                               quota=quota, sleep=clock.sleep, clock=clock, **kwargs)
        return client, script, quota

    yield make
    for s in scripts:
        s.close()


def test_the_request_and_keep_alive(served) -> None:
    body = _answer()
    zipped = gzip.compress(body)
    client, script, quota = served([_ok(body), _chunked(body), _ok(zipped, b"Content-Encoding: gzip\r\n")])
    with client:
        for _ in range(3):
            batch = client.list_channels(IDS)
            assert sorted(batch.found) == sorted(IDS) and batch.calls == 1
    assert script.connections == 1 and quota.reserved == 3 and client.calls_made == 3
    line, *headers = script.requests[0].split("\r\n")
    method, target, version = line.split(" ")
    assert (method, version) == ("GET", "HTTP/1.1") and urlsplit(target).path == "/youtube/v3/channels"
    query = parse_qs(urlsplit(target).query)
    assert query["id"] == [",".join(IDS)] and query["key"] == [KEY]
    assert query["fields"] == [CHANNEL_FIELDS] and query["maxResults"] == ["50"]
    assert "Accept: application/json" in headers and "Accept-Encoding: gzip" in headers


def test_a_closed_idle_connection_is_reopened_without_a_second_attempt(served) -> None:
    client, script, quota = served([_ok(_answer()), None, _ok(_answer())])
    with client:
        client.list_channels(IDS)
        assert client.list_channels(IDS).calls == 1
    assert script.connections == 2 and quota.reserved == 2


def test_errors_are_classified_and_redirects_not_followed(served) -> None:
    client, script, quota = served([
        _error(403, "quotaExceeded"),
        b"HTTP/1.1 301 Moved\r\nLocation: https://elsewhere.test/\r\nContent-Length: 0\r\n\r\n",
    ], max_attempts=1)
    with client:
        with pytest.raises(QuotaExceeded):
            client.list_channels(IDS)
        with pytest.raises(YouTubeError) as moved:
            client.list_channels(IDS)
    assert "301" in str(moved.value) and KEY not in str(moved.value)
    assert quota.exhausted == 1 and len(script.requests) == 2


@pytest.mark.parametrize("broken", [
    b"garbage\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 99999\r\n\r\nshort" + Script.CLOSE,
    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope",
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{\"ite",
    None,  # closed without an answer on a fresh connection
])
def test_a_broken_answer_is_a_transient_error_retried_on_a_new_connection(served, broken) -> None:
    client, script, quota = served([broken, _ok(_answer())])
    with client:
        batch = client.list_channels(IDS)
    assert sorted(batch.found) == sorted(IDS) and batch.calls == 2 and quota.reserved == 2


def test_timeout_and_refused_are_transient_and_keep_the_key_out(served) -> None:
    client, _, _ = served([Script.HANG], max_attempts=1)
    client._api_connection()._read_timeout = 0.2
    with client, pytest.raises(TransientError) as slow:
        client.list_channels(IDS)
    assert slow.value.reason == "timeout" and KEY not in str(slow.value) and slow.value.__cause__ is None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with YouTubeClient(f"http://127.0.0.1:{port}", KEY, timeout_s=1, connect_timeout_s=1, max_attempts=1) as refused, \
            pytest.raises(TransientError) as down:
        refused.list_channels(IDS)
    assert down.value.reason == "connectionError" and KEY not in str(down.value)


def test_each_calling_thread_has_its_own_connection(served) -> None:
    client, script, _ = served([_ok(_answer()) for _ in range(8)])
    barrier = threading.Barrier(4)

    def call() -> None:
        barrier.wait()
        client.list_channels(IDS)
        client.list_channels(IDS)

    with client:
        threads = [threading.Thread(target=call) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert script.connections == 4 and len(script.requests) == 8
