import json
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from channel_assets.youtube import (
    CHANNEL_FIELDS,
    ChannelForbidden,
    CircuitOpen,
    ConfigurationError,
    InvalidChannelId,
    NotFound,
    QuotaExceeded,
    QuotaShareExhausted,
    RateLimited,
    TransientError,
    YouTubeClient,
)
from channel_assets.youtube.client import parse_json, query_string

from .conftest import CH1, CH2, KEY, FakeQuota, channel_item, err, fixture_bytes, fixture_json, ok

IDS = ["UC" + f"{i:022d}" for i in range(60)]


# -- requests and parsing ---------------------------------------------------------------------------
def test_list_channels_one_call_for_a_batch(make_client, quota):
    client, script = make_client(ok({"items": [channel_item(CH1)], "pageInfo": {"totalResults": 1}}))
    batch = client.list_channels([CH1, f" {CH2} ", CH1])
    assert list(batch.found) == [CH1] and batch.missing == [CH2] and batch.calls == 1
    assert client.calls_made == 1 and quota.reserved == 1
    request = script.requests[0]
    assert request.url.path == "/youtube/v3/channels"
    params = request.url.params
    assert params["id"] == f"{CH1},{CH2}" and params["part"] == "snippet,statistics,contentDetails"
    assert params["fields"] == CHANNEL_FIELDS and params["key"] == KEY


def test_recorded_multi_channel_answer(make_client):
    client, _ = make_client(ok(fixture_json("apidata__channels__info_multiple.json")))
    batch = client.list_channels([CH1, CH2, IDS[0]])
    assert set(batch.found) == {CH1, CH2} and batch.missing == [IDS[0]]


def test_terminated_single_id(make_client):
    client, _ = make_client(ok(fixture_json("channel_terminated_single_id__from_issue_reports.json")))
    assert client.list_channels([CH1]).missing == [CH1]


def test_more_than_50_ids_rejected_without_a_call(make_client):
    client, script = make_client(ok({}))
    with pytest.raises(ValueError, match="at most 50"):
        client.list_channels(IDS[:51])
    client.list_channels(IDS[:50] + IDS[:10])  # 60 entries, 50 unique: fine
    assert len(script.requests) == 1


def test_bad_id_rejected_without_a_call(make_client, quota):
    client, script = make_client(ok({}))
    with pytest.raises(InvalidChannelId):
        client.list_channels([CH1, "UCnope"])
    assert not script.requests and quota.reserved == 0


def test_empty_request_makes_no_call(make_client):
    client, script = make_client(ok({}))
    assert client.list_channels([]).calls == 0 and not script.requests


def test_list_videos(make_client):
    client, script = make_client(ok(fixture_json("modeldata__videos__video_api_response.json")))
    batch = client.list_videos(["D-lhorsDlUQ", "aaaaaaaaaaa"])
    assert batch.found["D-lhorsDlUQ"].duration_seconds == 1267 and batch.missing == ["aaaaaaaaaaa"]
    assert script.requests[0].url.path == "/youtube/v3/videos"
    with pytest.raises(ValueError):
        client.list_videos(["short"])


def test_list_playlist_items_pages(make_client):
    client, script = make_client(ok(fixture_json("apidata__playlist_items__playlist_items_paged_1.json")),
                                 ok(fixture_json("apidata__playlist_items__playlist_items_paged_2.json")))
    first = client.list_playlist_items("UU_x5XG1OV2P6uZZ5FSM9Ttw")
    second = client.list_playlist_items("UU_x5XG1OV2P6uZZ5FSM9Ttw", page_token=first.next_page_token)
    assert len(first.video_ids) + len(second.video_ids) == 13 and second.next_page_token is None
    params = script.requests[1].url.params
    assert params["pageToken"] == "CAoQAA" and params["playlistId"] == "UU_x5XG1OV2P6uZZ5FSM9Ttw"
    assert params["maxResults"] == "50"


def test_playlist_not_found(make_client):
    client, _ = make_client(err(404, "playlistNotFound"))
    with pytest.raises(NotFound):
        client.list_playlist_items("UU_x5XG1OV2P6uZZ5FSM9Ttw")


def test_missing_key_and_bad_base_url_are_configuration_errors():
    with pytest.raises(ConfigurationError):
        YouTubeClient("https://yt.test", "")
    with pytest.raises(ConfigurationError):
        YouTubeClient("ftp://yt.test", KEY)


# -- errors, retries, back-off -------------------------------------------------------------------
@pytest.mark.parametrize("answer,cls", [
    (err(403, "forbidden"), ChannelForbidden),
    (err(403, "channelSuspended"), ChannelForbidden),
    (err(400, "keyInvalid", "usageLimits"), ConfigurationError),
    (err(400, "invalidPageToken"), ConfigurationError),
])
def test_non_retryable_errors_raise_after_one_call(make_client, answer, cls):
    client, script = make_client(answer)
    with pytest.raises(cls):
        client.list_channels([CH1])
    assert len(script.requests) == 1 and client.breaker.state == "closed"


def test_transient_then_success_is_retried(make_client, clock, quota):
    client, script = make_client(err(503, "backendError"), httpx.Response(502, text="<html>bad gateway</html>"),
                                 httpx.ReadTimeout("slow"), httpx.Response(200, text='{"items": [tru'),
                                 ok({"items": [channel_item(CH1)]}))
    batch = client.list_channels([CH1])
    assert CH1 in batch.found and batch.calls == 5 and quota.reserved == 5 and client.calls_made == 5
    assert len(clock.sleeps) == 4
    for attempt, slept in enumerate(clock.sleeps, start=1):
        assert 0 <= slept <= min(16.0, 0.5 * 2 ** (attempt - 1))


def test_rate_limits_retried_with_jitter(make_client, clock):
    client, script = make_client(err(429, "userRateLimitExceeded"), err(403, "rateLimitExceeded", "usageLimits"),
                                 ok({"items": []}))
    assert client.list_channels([CH1]).missing == [CH1]
    assert len(script.requests) == 3 and len(clock.sleeps) == 2


def test_jitter_is_random(make_client, clock):
    client, _ = make_client(err(500, "backendError"), max_attempts=40, backoff_max_s=1.0,
                            max_retry_time_s=1e9, breaker_threshold=100)
    with pytest.raises(TransientError):
        client.list_channels([CH1])
    assert len(clock.sleeps) == 39 and len(set(clock.sleeps)) > 30
    assert all(0 <= s <= 1.0 for s in clock.sleeps)


def test_retries_exhausted_raise_last_classified_error(make_client, clock):
    client, script = make_client(err(500, "backendError"), breaker_threshold=100)
    with pytest.raises(TransientError) as info:
        client.list_channels([CH1])
    assert info.value.reason == "backendError" and info.value.status == 500
    assert len(script.requests) == 5 and len(clock.sleeps) == 4


def test_total_retry_time_bounded_by_injected_clock(make_client, clock):
    start = clock.now
    client, script = make_client(err(500, "backendError"), max_attempts=1000, max_retry_time_s=30.0,
                                 backoff_base_s=1.0, backoff_max_s=8.0, breaker_threshold=10**6)
    with pytest.raises(TransientError):
        client.list_channels([CH1])
    assert clock.now - start < 30.0 and 4 < len(script.requests) < 1000


def test_malformed_200_is_retried(make_client):
    client, script = make_client(ok([1, 2]), ok({"items": {"x": 1}}), ok({"items": [channel_item(CH1)]}))
    assert CH1 in client.list_channels([CH1]).found and len(script.requests) == 3


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20)


@given(_JSON, st.booleans())  # integers within 64 bits: past them orjson answers a float (see parse_json)
def test_parse_json_reads_what_the_stdlib_reads(value, ascii_only):
    body = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert parse_json(body) == json.loads(body)


def test_parse_json_takes_a_lone_surrogate_escape_as_the_replacement_character():
    body = b'{"items": [{"title": "\\ud83d alone", "tags": ["\\udc00", "\\ud83d\\ude00 pair"]}]}'
    assert parse_json(body) == {"items": [{"title": "\ufffd alone", "tags": ["\ufffd", "\U0001f600 pair"]}]}
    json.dumps(parse_json(body), ensure_ascii=False).encode()  # every string is valid UTF-8 now


def test_a_lone_surrogate_in_a_title_arrives_as_the_replacement_character(make_client):
    item = {"id": "dQw4w9WgXcQ", "snippet": {"title": "x", "channelId": CH1, "publishedAt": "2026-01-01T00:00:00Z"},
            "contentDetails": {"duration": "PT1M"}, "statistics": {}, "status": {}}
    body = json.dumps({"items": [item]}).replace('"x"', '"bad \\ud800 title"').encode()
    client, _ = make_client(httpx.Response(200, content=body))
    details = client.list_video_details(["dQw4w9WgXcQ"]).found["dQw4w9WgXcQ"]
    assert details.title == "bad \ufffd title"


@pytest.mark.parametrize("body", [b"", b"{", b"<html>", b"\xff\xfe{}", b'{"a": NaN', b"[1,]"])
def test_parse_json_refuses_what_the_stdlib_refuses(body):
    with pytest.raises(ValueError):
        json.loads(body)
    with pytest.raises(ValueError):
        parse_json(body)


# -- quota ------------------------------------------------------------------------------------------
def test_quota_exceeded_marks_ledger_and_is_not_retried(make_client, quota):
    client, script = make_client(httpx.Response(403, content=fixture_bytes("quota_exceeded__from_issue_reports.json")))
    with pytest.raises(QuotaExceeded):
        client.list_channels([CH1])
    assert quota.exhausted == 1 and len(script.requests) == 1 and quota.reserved == 1


def test_quota_share_exhausted_propagates_without_http(make_client):
    client, script = make_client(ok({}), quota=FakeQuota(allow=0))
    with pytest.raises(QuotaShareExhausted):
        client.list_channels([CH1])
    assert not script.requests and client.calls_made == 0


def test_quota_refused_mid_retry_stops_retrying(make_client, clock):
    gate = FakeQuota(allow=2)
    client, script = make_client(err(503, "backendError"), quota=gate)
    with pytest.raises(QuotaShareExhausted):
        client.list_channels([CH1])
    assert len(script.requests) == 2 and gate.reserved == 2


# -- circuit breaker --------------------------------------------------------------------------------
def test_breaker_opens_half_opens_and_closes(make_client, clock, quota):
    client, script = make_client(err(500, "backendError"), max_attempts=1, breaker_threshold=3,
                                 breaker_reset_s=30.0)
    for _ in range(3):
        with pytest.raises(TransientError):
            client.list_channels([CH1])
    assert client.breaker.state == "open"
    reserved = quota.reserved
    with pytest.raises(CircuitOpen):
        client.list_channels([CH1])
    assert len(script.requests) == 3 and quota.reserved == reserved  # no call, no unit

    clock.now += 30.0
    assert client.breaker.state == "half_open"
    with pytest.raises(TransientError):  # the probe fails: open again
        client.list_channels([CH1])
    assert client.breaker.state == "open" and len(script.requests) == 4
    with pytest.raises(CircuitOpen):
        client.list_channels([CH1])

    clock.now += 30.0
    script.answers = [ok({"items": [channel_item(CH1)]})]
    assert CH1 in client.list_channels([CH1]).found
    assert client.breaker.state == "closed"


def test_breaker_counts_consecutive_failures_only(make_client):
    client, _ = make_client(err(500, "backendError"), err(500, "backendError"), err(404, "playlistNotFound"),
                            err(500, "backendError"), err(500, "backendError"), ok({"items": []}),
                            max_attempts=1, breaker_threshold=3)
    outcomes = []
    for _ in range(6):
        try:
            client.list_channels([CH1])
            outcomes.append("ok")
        except (TransientError, NotFound) as exc:
            outcomes.append(type(exc).__name__)
    assert outcomes[-1] == "ok" and client.breaker.state == "closed"


def test_half_open_allows_a_single_probe(make_client, clock):
    client, _ = make_client(err(500, "backendError"), max_attempts=1, breaker_threshold=1)
    with pytest.raises(TransientError):
        client.list_channels([CH1])
    clock.now += 31
    client.breaker.before_call()  # claim the probe
    with pytest.raises(CircuitOpen):
        client.breaker.before_call()
    client.breaker.cancel()
    client.breaker.before_call()


def test_breaker_opening_during_retries_stops_them(make_client):
    client, script = make_client(err(500, "backendError"), max_attempts=10, breaker_threshold=3)
    with pytest.raises(CircuitOpen):
        client.list_channels([CH1])
    assert len(script.requests) == 3


# -- threads --------------------------------------------------------------------------------------
def test_thread_safe_call_counting(make_client, quota):
    lock = threading.Lock()
    seen = []

    def answer(request):
        with lock:
            seen.append(request.url.params["id"])
        ids = request.url.params["id"].split(",")
        return ok({"items": [channel_item(i) for i in ids]})

    client, _ = make_client(answer)
    batches = [IDS[i:i + 3] for i in range(0, 60, 3)]
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(client.list_channels, batches * 5))
    assert all(len(r.found) == 3 for r in results)
    assert client.calls_made == 100 == quota.reserved == len(seen)


def test_context_manager_closes(clock):
    with YouTubeClient("https://yt.test", KEY, transport=httpx.MockTransport(lambda r: ok({}))) as client:
        assert KEY not in repr(client)
    with pytest.raises(RuntimeError):
        client.list_channels([CH1])


def test_uses_configured_pool_and_timeouts():
    client = YouTubeClient("https://yt.test", KEY, timeout_s=7.0, connect_timeout_s=2.0)
    try:
        assert client._http.timeout == httpx.Timeout(7.0, connect=2.0)
    finally:
        client.close()


def test_persistent_rate_limit_raises_rate_limited_not_retry_error(make_client, clock):
    client, script = make_client(err(429, "userRateLimitExceeded", "usageLimits"), max_attempts=3,
                                 breaker_threshold=100)
    with pytest.raises(RateLimited) as info:
        client.list_channels([CH1])
    assert info.value.reason == "userRateLimitExceeded" and len(script.requests) == 3


_QUERY_TEXT = st.one_of(st.text(max_size=40), st.text(alphabet="abcXYZ019_-.~,", max_size=40),
                        st.integers(min_value=0, max_value=10**6))


@given(st.dictionaries(st.sampled_from(["part", "id", "fields", "maxResults", "key", "pageToken", "a b&c"]),
                       _QUERY_TEXT, max_size=6))
def test_query_string_equals_urlencode(query):
    assert query_string(query) == urlencode(query)


def test_query_string_of_a_video_batch():
    ids = ["dQw4w9WgXcQ", "a-_b9Zz0000"]
    query = {"part": "statistics,snippet", "id": ",".join(ids), "fields": "items(id,snippet/title)",
             "maxResults": 50, "key": "AIza-key_1"}
    assert query_string(query) == urlencode(query) == (
        "part=statistics%2Csnippet&id=dQw4w9WgXcQ%2Ca-_b9Zz0000&fields=items%28id%2Csnippet%2Ftitle%29"
        "&maxResults=50&key=AIza-key_1")
