"""YouTube Data API v3 client on one pooled httpx.Client: quota-gated, retried, breaker-guarded, key-safe."""

from __future__ import annotations

import http.client
import json
import logging
import re
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote_plus, urlsplit
from urllib.request import getproxies, proxy_bypass

import httpx
import orjson
from tenacity import RetryCallState

from .errors import (
    ConfigurationError,
    QuotaExceeded,
    QuotaShareExhausted,
    RateLimited,
    TransientError,
    YouTubeError,
    classify_error,
)
from .feed import parse_feed
from .ids import is_valid_playlist_id, validate_channel_ids, validate_video_ids
from .parsing import (
    CHANNEL_PARTS,
    VIDEO_DETAIL_PARTS,
    VIDEO_PARTS,
    items_of,
    parse_channel_list,
    parse_playlist_page,
    parse_video_details_list,
    parse_video_list,
)
from .records import ChannelBatch, FeedResult, PlaylistPage, VideoBatch, VideoDetailsBatch
from .redaction import install_log_redaction, redact, register_secret
from .resilience import CircuitBreaker, make_retrying

log = logging.getLogger(__name__)

MAX_IDS_PER_CALL = 50
CHANNEL_FIELDS = (
    "items(id,etag,snippet(title,description,customUrl,publishedAt,country,"
    "thumbnails/default/url,thumbnails/medium/url,thumbnails/high/url),"
    "statistics(subscriberCount,hiddenSubscriberCount,videoCount,viewCount),"
    "contentDetails/relatedPlaylists/uploads),pageInfo,nextPageToken"
)
VIDEO_FIELDS = (
    "items(id,snippet(channelId,title,description,publishedAt),contentDetails/duration,"
    "statistics/viewCount),pageInfo,nextPageToken"
)
# The metadata refresh's answer trimmed to what videos_video stores (~40% of a whole item's bytes).
VIDEO_DETAIL_FIELDS = (
    "items(id,snippet(channelId,title,description,tags,publishedAt,"
    "thumbnails/default/url,thumbnails/medium/url,thumbnails/high/url),"
    "contentDetails(duration,regionRestriction),statistics(viewCount,likeCount,commentCount),"
    "status(uploadStatus,privacyStatus,embeddable)),nextPageToken"
)
PLAYLIST_FIELDS = (
    "items(snippet(publishedAt,resourceId/videoId),contentDetails(videoId,videoPublishedAt)),"
    "nextPageToken,pageInfo"
)
_FEED_HEADERS = {"Accept": "application/atom+xml, application/xml;q=0.9, */*;q=0.1"}
_API_HEADERS = {"Accept": "application/json"}
_USER_AGENT = "channel_assets/0.1 (+httpx)"


@runtime_checkable
class QuotaGate(Protocol):
    """The quota ledger, consulted before every attempt (each attempt costs a unit)."""

    def try_reserve(self, units: int) -> bool: ...  # False: the share is spent (the client raises)

    def mark_exhausted(self) -> None: ...  # the API itself answered quotaExceeded


class _Secret:
    """Holds the key so that no repr/vars()/debugger dump of the client shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'***'"


def parse_json(content: bytes) -> Any:
    """An answer's JSON: orjson, ~3x the stdlib's speed on a 50-video page (~0.3 ms of the GIL a call, 20,000
    calls for 1M videos); the stdlib parser for what orjson refuses and JSON allows (a lone surrogate escape),
    so what counts as malformed is the same. A lone surrogate becomes U+FFFD there: no text column (nor
    UTF-8) can hold it, and one such title would fail its whole write group. orjson reads an integer past
    64 bits as a float: a count that large is an invalid item either way (parsing's `_count`)."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return _without_lone_surrogates(json.loads(content))


_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")  # what quote_plus leaves as it is
_UNRESERVED_LIST = re.compile(r"[A-Za-z0-9_.~-]+(?:,[A-Za-z0-9_.~-]+)+")  # ids, parts: only the commas to encode


@lru_cache(maxsize=64)
def _quoted(text: str) -> str:
    """Names and the constant values (the `fields` masks): quoted once, not on every call."""
    return quote_plus(text)


def query_string(query: dict[str, Any]) -> str:
    """``urllib.parse.urlencode(query)``, equal by test. urlencode quotes character by character once a
    value holds anything to escape: the 50 comma-separated ids and the `fields` mask cost ~3% of the
    pipeline's GIL samples in a 1M-video refresh (20,000 calls). Values that repeat go through a small
    cache, so the API key is never one of them (it is unreserved text: returned as it is)."""
    out = []
    for name, value in query.items():
        text = str(value)
        if _UNRESERVED.fullmatch(text):
            encoded = text
        elif _UNRESERVED_LIST.fullmatch(text):
            encoded = text.replace(",", "%2C")
        elif name != "key":
            encoded = _quoted(text)
        else:
            encoded = quote_plus(text)
        out.append(f"{_quoted(name)}={encoded}")
    return "&".join(out)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # in a str a valid pair is already one code point


def _without_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    return value


def _describe_transport_error(exc: BaseException) -> str:
    """A redacted one-liner for a transport failure (httpx's text may embed the URL with key=)."""
    kind = "timeout" if isinstance(exc, httpx.TimeoutException | TimeoutError) else "connection error"
    return redact(f"{kind}: {type(exc).__name__}: {exc}")


class _KeepAliveConnection:
    """One keep-alive HTTP/1.1 connection on ``http.client`` (one per calling thread), for GETs.

    httpx's per-request machinery (URL and request models, the pool and its lock, h11's event loop) cost
    the pipeline ~0.45 ms of CPU per feed, more than parsing it, and about 15% of the GIL's time in a
    million-video refresh; this costs ~0.1 ms. Same rules as the httpx path: connect and read timeouts,
    no redirects followed (a 3xx is the caller's to classify), gzip accepted. A kept-alive connection the
    server has closed is reconnected once (the usual idle close: the request never reached it); any other
    failure is the caller's to classify."""

    def __init__(self, scheme: str, host: str, port: int | None, ssl_context, connect_timeout_s: float,
                 read_timeout_s: float, headers: dict[str, str]) -> None:
        self._args = (host, port)
        self._https = scheme == "https"
        self._ssl = ssl_context
        self._connect_timeout, self._read_timeout = connect_timeout_s, read_timeout_s
        self._conn: http.client.HTTPConnection | None = None
        self._headers = {**headers, "User-Agent": _USER_AGENT, "Accept-Encoding": "gzip"}

    def _open(self) -> http.client.HTTPConnection:
        host, port = self._args
        if self._https:
            conn = http.client.HTTPSConnection(host, port, timeout=self._connect_timeout, context=self._ssl)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self._connect_timeout)
        conn.connect()
        conn.sock.settimeout(self._read_timeout)
        return conn

    def get(self, path: str) -> tuple[int, bytes]:
        for reused in (self._conn is not None, False):
            conn = self._conn
            if conn is None:
                conn = self._conn = self._open()
            try:
                conn.request("GET", path, headers=self._headers)
                response = conn.getresponse()
                body = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if reused:  # the server closed the idle connection: once more on a new one
                    continue
                raise
            except BaseException:
                self.close()
                raise
            if response.will_close:
                self.close()
            if (response.getheader("Content-Encoding") or "").strip().lower() == "gzip":
                body = zlib.decompress(body, wbits=31)
            return response.status, body
        raise AssertionError("unreachable")

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


class YouTubeClient:
    """Thread-safe; share one instance across worker threads."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        quota: QuotaGate | None = None,
        timeout_s: float = 10.0,
        connect_timeout_s: float = 5.0,
        max_connections: int = 32,
        max_feeds_in_flight: int = 16,
        max_attempts: int = 5,
        max_retry_time_s: float = 60.0,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 16.0,
        breaker_threshold: int = 5,
        breaker_reset_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
        feed_base_url: str | None = None,
    ) -> None:
        if not api_key or not api_key.strip():
            raise ConfigurationError("no YouTube API key configured", reason="missingKey")
        api_key = api_key.strip()
        register_secret(api_key)
        install_log_redaction()
        self.base_url = base_url.rstrip("/")
        self.feed_base_url = (feed_base_url or base_url).rstrip("/")
        for url in (self.base_url, self.feed_base_url):
            if not url.startswith(("http://", "https://")):
                raise ConfigurationError(f"base URL must start with http:// or https://: {url!r}",
                                         reason="badBaseUrl")
        self._key = _Secret(api_key)
        self._quota = quota
        self._retry_settings = dict(max_attempts=max_attempts, max_retry_time_s=max_retry_time_s,
                                    backoff_base_s=backoff_base_s, backoff_max_s=backoff_max_s)
        self._sleep = sleep
        self._clock = clock
        self.breaker = CircuitBreaker(breaker_threshold, breaker_reset_s, clock)
        self._calls = 0
        self._calls_lock = threading.Lock()
        self._timeouts = httpx.Timeout(timeout_s, connect=connect_timeout_s)
        self._transport = transport
        self._ssl = httpx.create_ssl_context()  # built once: each pool would load the CA bundle again
        self._http = self._pool(max_connections)
        # The API's calls, where no transport or proxy needs httpx, go over one kept-alive http.client
        # connection per calling thread (the pump's threads): the lean path measured beside the feed's.
        self._api_local = threading.local()
        self._api_target = self._lean_target(self.base_url, transport)
        # The feed costs no quota, so it has its own concurrency (the caller sizes its feed threads by
        # it), and each feed thread its own one-connection pool: on one shared pool, threads spent more
        # time in httpcore's pool lock (a scan of every connection per request) than in the requests.
        self.feeds_in_flight = max_feeds_in_flight
        self._feed_local = threading.local()
        self._thread_pools: list[httpx.Client | _KeepAliveConnection] = []
        self._feed_target = self._lean_target(self.feed_base_url, transport)

    def _pool(self, size: int) -> httpx.Client:
        return httpx.Client(
            timeout=self._timeouts,
            limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
            transport=self._transport,
            verify=self._ssl,
            headers={"User-Agent": _USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
        )

    @staticmethod
    def _lean_target(base_url: str, transport: httpx.BaseTransport | None) -> tuple | None:
        """(scheme, host, port, path prefix) for ``_KeepAliveConnection``; None where httpx must do the
        request: a given transport (tests, mocks) or a proxy configured for the host (httpx honours those)."""
        if transport is not None:
            return None
        split = urlsplit(base_url)
        host = split.hostname
        if not host or split.query or split.username or split.password:
            return None
        if getproxies().get(split.scheme) and not proxy_bypass(host):
            return None
        return split.scheme, host, split.port, split.path.rstrip("/")

    def _feed_http(self) -> httpx.Client:
        pool = getattr(self._feed_local, "pool", None)
        if pool is None:
            pool = self._feed_local.pool = self._pool(1)
            with self._calls_lock:
                self._thread_pools.append(pool)
        return pool

    def _feed_connection(self) -> _KeepAliveConnection:
        return self._connection(self._feed_local, self._feed_target, _FEED_HEADERS)

    def _api_connection(self) -> _KeepAliveConnection:
        return self._connection(self._api_local, self._api_target, _API_HEADERS)

    def _connection(self, local: threading.local, target: tuple, headers: dict[str, str]) -> _KeepAliveConnection:
        conn = getattr(local, "conn", None)
        if conn is None:
            scheme, host, port, _ = target
            conn = local.conn = _KeepAliveConnection(scheme, host, port, self._ssl, self._timeouts.connect,
                                                     self._timeouts.read, headers)
            with self._calls_lock:
                self._thread_pools.append(conn)
        return conn

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()
        with self._calls_lock:
            pools, self._thread_pools = self._thread_pools, []
        for pool in pools:
            pool.close()

    def __enter__(self) -> YouTubeClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"YouTubeClient(base_url={self.base_url!r}, key='***', breaker={self.breaker.state!r})"

    @property
    def calls_made(self) -> int:
        """API calls (= quota units) sent by this client, retries included."""
        with self._calls_lock:
            return self._calls

    # -- public API --------------------------------------------------------------------------
    def list_channels(self, ids: Sequence[str]) -> ChannelBatch:
        """One ``channels.list`` call (plus retries) for up to 50 ids; gone ids come back in ``missing``."""
        wanted = validate_channel_ids(ids)
        if len(wanted) > MAX_IDS_PER_CALL:
            raise ValueError(f"channels.list takes at most {MAX_IDS_PER_CALL} ids, got {len(wanted)}")
        if not wanted:
            return ChannelBatch()
        payload, calls = self._get("channels", {
            "part": ",".join(CHANNEL_PARTS), "id": ",".join(wanted),
            "maxResults": MAX_IDS_PER_CALL, "fields": CHANNEL_FIELDS,
        })
        return parse_channel_list(payload, wanted, CHANNEL_PARTS, calls=calls)

    def list_videos(self, ids: Sequence[str]) -> VideoBatch:
        """One ``videos.list`` call (plus retries) for up to 50 video ids."""
        wanted = validate_video_ids(ids)
        if len(wanted) > MAX_IDS_PER_CALL:
            raise ValueError(f"videos.list takes at most {MAX_IDS_PER_CALL} ids, got {len(wanted)}")
        if not wanted:
            return VideoBatch()
        payload, calls = self._get("videos", {
            "part": ",".join(VIDEO_PARTS), "id": ",".join(wanted), "fields": VIDEO_FIELDS,
        })
        return parse_video_list(payload, wanted, VIDEO_PARTS, calls=calls)

    def list_video_details(self, ids: Sequence[str]) -> VideoDetailsBatch:
        """One ``videos.list`` call (plus retries) for up to 50 ids with every part the metadata refresh
        stores; deleted and private videos come back in ``missing`` (an API-key answer leaves both out)."""
        wanted = validate_video_ids(ids)
        if len(wanted) > MAX_IDS_PER_CALL:
            raise ValueError(f"videos.list takes at most {MAX_IDS_PER_CALL} ids, got {len(wanted)}")
        if not wanted:
            return VideoDetailsBatch()
        payload, calls = self._get("videos", {
            "part": ",".join(VIDEO_DETAIL_PARTS), "id": ",".join(wanted),
            "maxResults": MAX_IDS_PER_CALL, "fields": VIDEO_DETAIL_FIELDS,
        })
        return parse_video_details_list(payload, wanted, VIDEO_DETAIL_PARTS, calls=calls)

    def list_playlist_items(self, playlist_id: str, page_token: str | None = None,
                            max_results: int = 50) -> PlaylistPage:
        """One page of a playlist (the uploads playlist ``UU…``), newest first as YouTube orders it."""
        if not is_valid_playlist_id(playlist_id):
            raise ValueError(f"invalid playlist id {playlist_id!r:.60}")
        if not 0 <= max_results <= MAX_IDS_PER_CALL:
            raise ValueError(f"max_results must be 0..{MAX_IDS_PER_CALL}, got {max_results}")
        params: dict[str, Any] = {"part": "snippet,contentDetails", "playlistId": playlist_id,
                                  "maxResults": max_results, "fields": PLAYLIST_FIELDS}
        if page_token:
            params["pageToken"] = page_token
        payload, calls = self._get("playlistItems", params)
        return parse_playlist_page(payload, calls=calls)

    def fetch_feed(self, channel_id: str) -> FeedResult:
        """The public Atom feed: no key, no quota, no breaker; any failure is ``ok=False``."""
        (channel_id,) = validate_channel_ids([channel_id])  # URL-safe characters only: no escaping needed
        failure = None
        if self._feed_target is not None:
            try:
                status, content = self._feed_connection().get(
                    f"{self._feed_target[3]}/feeds/videos.xml?channel_id={channel_id}")
            except (OSError, http.client.HTTPException, zlib.error) as exc:  # timeouts are OSErrors
                failure = _describe_transport_error(exc)
        else:
            try:
                response = self._feed_http().get(f"{self.feed_base_url}/feeds/videos.xml",
                                                 params={"channel_id": channel_id}, headers=_FEED_HEADERS)
                status, content = response.status_code, response.content
            except httpx.HTTPError as exc:
                failure = _describe_transport_error(exc)
        if failure is not None:
            log.info("feed %s unavailable: %s", channel_id, failure)
            return FeedResult(ok=False, failure=failure)
        if status != 200:
            return FeedResult(ok=False, failure=f"http {status}")
        return parse_feed(content, expected_channel_id=channel_id)

    # -- plumbing ----------------------------------------------------------------------------
    def _get(self, resource: str, params: dict[str, Any]) -> tuple[dict, int]:
        """GET /youtube/v3/<resource> with retries; returns (payload, attempts made)."""
        attempts = 0

        def attempt() -> dict:
            nonlocal attempts
            self.breaker.before_call()
            if self._quota is not None:
                try:
                    granted = self._quota.try_reserve(1)
                except BaseException:
                    self.breaker.cancel()
                    raise
                if not granted:
                    self.breaker.cancel()
                    raise QuotaShareExhausted("the pipeline's quota share for today is spent")
            attempts += 1
            with self._calls_lock:
                self._calls += 1
            try:
                return self._attempt(resource, params)
            except YouTubeError:
                raise
            except BaseException:  # not an API answer (e.g. interrupted): free a claimed probe slot
                self.breaker.cancel()
                raise

        retrying = make_retrying(sleep=self._sleep, clock=self._clock, before_sleep=self._log_retry,
                                 **self._retry_settings)
        payload = retrying(attempt)
        return payload, attempts

    def _attempt(self, resource: str, params: dict[str, Any]) -> dict:
        """One HTTP exchange, classified; breaker bookkeeping happens here."""
        error: YouTubeError | None = None
        query = {**params, "key": self._key.reveal()}
        if self._api_target is not None:
            try:
                status, content = self._api_connection().get(
                    f"{self._api_target[3]}/youtube/v3/{resource}?{query_string(query)}")
            except (OSError, http.client.HTTPException, zlib.error) as exc:  # timeouts are OSErrors
                reason = "timeout" if isinstance(exc, TimeoutError) else "connectionError"
                error = TransientError(_describe_transport_error(exc), reason=reason)
        else:
            try:
                response = self._http.get(f"{self.base_url}/youtube/v3/{resource}", params=query)
                status, content = response.status_code, response.content
            except httpx.UnsupportedProtocol as exc:
                error = ConfigurationError(redact(f"unsupported URL: {exc}"), reason="badBaseUrl")
            except httpx.HTTPError as exc:
                reason = "timeout" if isinstance(exc, httpx.TimeoutException) else "connectionError"
                error = TransientError(_describe_transport_error(exc), reason=reason)
        if error is None:
            error, payload = self._read(status, content)
        # Raised outside the except blocks so no httpx exception (URL with key=) is chained.
        if isinstance(error, TransientError | RateLimited):
            self.breaker.record_failure()
            raise error
        self.breaker.record_success()
        if isinstance(error, QuotaExceeded) and self._quota is not None:
            self._quota.mark_exhausted()
        if error is not None:
            raise error
        return payload

    @staticmethod
    def _read(status: int, content: bytes) -> tuple[YouTubeError | None, Any]:
        if status != 200:
            return classify_error(status, content), None
        try:
            payload = parse_json(content)
            items_of(payload)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            return TransientError("malformed response: body is not JSON", reason="malformedResponse",
                                  status=200), None
        except TransientError as exc:
            exc.status = 200
            return exc, None
        return None, payload

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning("YouTube API attempt %d failed (%s); retrying in %.2fs",
                    state.attempt_number, redact(exc), state.upcoming_sleep)
