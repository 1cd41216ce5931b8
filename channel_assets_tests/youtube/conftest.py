"""Shared helpers: recorded fixtures, a scripted MockTransport, a fake clock and a fake quota gate."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from channel_assets.youtube import YouTubeClient

FIXTURES = Path(os.environ.get("YOUTUBE_FIXTURES", "/work/shared/fixtures/youtube-api-recorded"))
KEY = "AIzaSyTEST-very-distinctive-KEY_0123456789"
CH1 = "UC_x5XG1OV2P6uZZ5FSM9Ttw"
CH2 = "UCK8sQmJBp8GCxrOtXWBpyEA"


def fixture_json(name: str):
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"recorded fixtures not available at {FIXTURES}")
    return json.loads(path.read_text())


def fixture_bytes(name: str) -> bytes:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"recorded fixtures not available at {FIXTURES}")
    return path.read_bytes()


class FakeClock:
    """Monotonic clock that only moves when the client 'sleeps'."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeQuota:
    def __init__(self, allow: int = 10**9) -> None:
        self.allow = allow
        self.reserved = 0
        self.exhausted = 0

    def try_reserve(self, units: int) -> bool:
        if self.reserved + units > self.allow:
            return False
        self.reserved += units
        return True

    def mark_exhausted(self) -> None:
        self.exhausted += 1


class Script:
    """MockTransport handler answering from a list (last answer repeats); records every request."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer


def ok(payload) -> httpx.Response:
    return httpx.Response(200, json=payload)


def err(status: int, reason: str, domain: str = "youtube.api") -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": status, "message": f"{reason} happened",
                                                  "errors": [{"message": "x", "domain": domain,
                                                              "reason": reason}]}})


def channel_item(channel_id: str, **over) -> dict:
    item = {
        "id": channel_id, "etag": "e1",
        "snippet": {"title": "T", "description": "D", "customUrl": "@t", "publishedAt": "2020-01-02T03:04:05Z",
                    "country": "US", "thumbnails": {"default": {"url": "https://d"}, "high": {"url": "https://h"}}},
        "statistics": {"subscriberCount": "10", "hiddenSubscriberCount": False, "videoCount": "2",
                       "viewCount": "300"},
        "contentDetails": {"relatedPlaylists": {"uploads": "UU" + channel_id[2:]}},
    }
    item.update(over)
    return item


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def quota() -> FakeQuota:
    return FakeQuota()


@pytest.fixture
def make_client(clock, quota):
    clients: list[YouTubeClient] = []

    def make(*answers, **kwargs) -> tuple[YouTubeClient, Script]:
        script = Script(*answers)
        kwargs.setdefault("quota", quota)
        client = YouTubeClient("https://yt.test", KEY, sleep=clock.sleep, clock=clock,
                               transport=httpx.MockTransport(script), **kwargs)
        clients.append(client)
        return client, script

    yield make
    for c in clients:
        c.close()
