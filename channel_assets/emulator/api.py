"""The ``/youtube/v3`` endpoints: request parameters in, real wire-format bytes out.

Transport-free (the HTTP server in ``server.py`` only moves bytes), so the rules
about keys, quota, parameters and error bodies live in one place.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from channel_assets.emulator.faults import Faults
from channel_assets.emulator.hashing import etag as _etag
from channel_assets.emulator.render import ITEM_HEAD, renderers, shape
from channel_assets.emulator.video_render import video_key, video_list_etag, video_renderers
from channel_assets.emulator.videos import HIDDEN, thumbnails
from channel_assets.emulator.world import World, iso

PACIFIC = ZoneInfo("America/Los_Angeles")
MAX_IDS = 50
_HTTP_STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
_CHANNEL_PARTS = frozenset({"id", "snippet", "statistics", "contentDetails", "status", "brandingSettings",
                            "topicDetails", "localizations", "contentOwnerDetails", "auditDetails"})
_VIDEO_PARTS = frozenset({"id", "snippet", "statistics", "contentDetails", "status", "player", "topicDetails",
                          "recordingDetails", "liveStreamingDetails", "localizations", "paidProductPlacementDetails"})
_PLAYLIST_ITEM_PARTS = frozenset({"id", "snippet", "contentDetails", "status"})
_CHANNEL_FILTERS = "id, forHandle, forUsername, mine, managedByMe, categoryId, mySubscribers"
_VIDEO_FILTERS = "chart, id, myRating"  # the discovery document's filters; the message's order is a guess
_QUOTA_MESSAGE = ('The request cannot be completed because you have exceeded your '
                  '<a href="/youtube/v3/getting-started#quota">quota</a>.')
_JSON = "application/json; charset=UTF-8"
_GONE = ()  # cache entry of a channel that channels.list leaves out


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = _JSON
    headers: dict[str, str] = field(default_factory=dict)
    body_fault_allowed: bool = False  # only successful API answers get malformed/truncated


def compact_json(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def error(code: int, message: str, reason: str, domain: str = "global", *, location: str | None = None,
          status: bool = True) -> Response:
    """A Google API error body: ``{"error": {"code", "message", "errors": [...], "status"}}``."""
    detail: dict = {"message": message, "domain": domain, "reason": reason}
    if location:
        detail |= {"location": location, "locationType": "parameter"}
    err: dict = {"code": code, "message": message, "errors": [detail]}
    if status and code in _HTTP_STATUS:
        err["status"] = _HTTP_STATUS[code]
    return Response(code, compact_json({"error": err}))


def quota_exceeded() -> Response:
    """The body exactly as recorded in real quotaExceeded answers (no ``status`` key)."""
    return error(403, _QUOTA_MESSAGE, "quotaExceeded", "youtube.quota", status=False)


def backend_error(code: int) -> Response:
    msg = "The service is currently unavailable." if code == 503 else "Internal error encountered."
    return error(code, msg, "backendError")


def rate_limited(code: int) -> Response:
    return error(code, "The request cannot be completed due to rate limit.", "rateLimitExceeded", "usageLimits")


# ----- partial responses (fields=) ----------------------------------------------------
class FieldsError(ValueError):
    pass


def parse_fields(text: str) -> dict:
    """Parse the ``fields`` grammar into a tree ``{name: subtree | None}`` (None = everything).

    ``a,b/c,d(e,f/g)``: comma lists, ``/`` paths, nested parentheses, ``*`` for any key.
    """
    pos = 0

    def parse_list(depth: int) -> dict:
        nonlocal pos
        tree: dict = {}
        while True:
            start = pos
            while pos < len(text) and text[pos] not in ",()":
                pos += 1
            path = text[start:pos].strip()
            names = path.split("/")
            if not path or any(not n.strip() for n in names):
                raise FieldsError(f"Invalid field selection {text}")
            sub = None
            if pos < len(text) and text[pos] == "(":
                pos += 1
                sub = parse_list(depth + 1)
                if pos >= len(text) or text[pos] != ")":
                    raise FieldsError(f"Invalid field selection {text}")
                pos += 1
            for n in reversed(names[1:]):
                sub = {n.strip(): sub}
            _merge(tree, names[0].strip(), sub)
            if pos >= len(text) or text[pos] == ")":
                if depth == 0 and pos < len(text):
                    raise FieldsError(f"Invalid field selection {text}")
                return tree
            pos += 1  # the comma

    return parse_list(0)


def _merge(node: dict, name: str, sub: dict | None) -> None:
    if name not in node:
        node[name] = sub
    elif node[name] is None or sub is None:
        node[name] = None
    else:
        for k, v in sub.items():
            _merge(node[name], k, v)


def select_fields(value: object, tree: dict | None) -> object:
    if tree is None:
        return value
    if isinstance(value, list):
        return [select_fields(v, tree) for v in value]
    if isinstance(value, dict):
        if "*" in tree:
            return {k: select_fields(v, tree["*"]) for k, v in value.items()}
        return {k: select_fields(value[k], sub) for k, sub in tree.items() if k in value}
    return value


# ----- page tokens -------------------------------------------------------------------
def page_token(offset: int, backwards: bool = False) -> str:
    """Shaped like the real tokens (``CAoQAA`` = protobuf {1: offset, 2: direction})."""
    raw = bytearray(b"\x08")
    n = offset
    while True:
        b, n = n & 0x7F, n >> 7
        raw.append(b | (0x80 if n else 0))
        if not n:
            break
    raw += b"\x10\x01" if backwards else b"\x10\x00"
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def parse_page_token(token: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        return None
    if len(raw) < 4 or raw[0] != 0x08:
        return None
    offset, shift, pos = 0, 0, 1
    while pos < len(raw) and shift < 35:
        b = raw[pos]
        offset |= (b & 0x7F) << shift
        shift += 7
        pos += 1
        if not b & 0x80:
            break
    else:
        return None
    if raw[pos:] not in (b"\x10\x00", b"\x10\x01"):
        return None
    return offset


# ----- quota -------------------------------------------------------------------------
class Quota:
    """Units used per key per Pacific day of the simulated clock."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._used: dict[str, tuple[str, int]] = {}

    @staticmethod
    @lru_cache(maxsize=64)
    def day(now_ts: float) -> str:
        """The Pacific date (memoised: the clock only moves when told to, and zone maths is slow)."""
        return datetime.fromtimestamp(now_ts, UTC).astimezone(PACIFIC).date().isoformat()

    def charge(self, key: str, now_ts: float, limit: int) -> bool:
        """Spend one unit; False (nothing spent) when the day's quota is gone."""
        today = self.day(now_ts)
        with self._lock:
            day, used = self._used.get(key, (today, 0))
            if day != today:
                used = 0
            if used >= limit:
                return False
            self._used[key] = (today, used + 1)
            return True

    def usage(self, now_ts: float) -> dict[str, int]:
        today = self.day(now_ts)
        with self._lock:
            return {k: used for k, (day, used) in self._used.items() if day == today}


# ----- resources ---------------------------------------------------------------------
def wire_item(kind: str, body: dict) -> tuple[bytes, bytes]:
    """``{"kind", "etag", ...body}`` with the etag a hash of the body, serialised once; and the etag."""
    raw = compact_json(body)
    etag = _etag(raw)
    return b'{"kind":"' + kind.encode() + b'","etag":"' + etag + b'",' + raw[1:], etag


def _list_head(kind: str, etags: list[bytes], total: int, per_page: int, next_token: str | None = None,
               prev_token: str | None = None) -> dict:
    """A list response without its items. The etag hashes the items' etags (each a hash of its item),
    not the items again."""
    etag = _etag(b",".join(etags) + f"|{total}/{per_page}/{next_token}".encode()).decode()
    head = {"kind": kind, "etag": etag}
    if next_token:
        head["nextPageToken"] = next_token
    if prev_token:
        head["prevPageToken"] = prev_token
    head["pageInfo"] = {"totalResults": total, "resultsPerPage": per_page}
    return head


def _splice(before: bytes, items: list[bytes], after: bytes) -> bytes:
    """``before + b",".join(items) + after`` copying the items once (answers are ~100 KB)."""
    if not items:
        return before + after
    if len(items) == 1:
        return before + items[0] + after
    return b",".join([before + items[0], *items[1:-1], items[-1] + after])


def _with_items(head: dict, items: list[bytes]) -> bytes:
    raw = compact_json(head)
    if not items:  # no items key at all when nothing was found, like the real API
        return raw
    return _splice(raw[:-1] + b',"items":[', items, b"]}")


def list_response(kind: str, items: list[bytes], etags: list[bytes], total: int, per_page: int,
                   next_token: str | None = None, prev_token: str | None = None) -> tuple[bytes, str]:
    head = _list_head(kind, etags, total, per_page, next_token, prev_token)
    return _with_items(head, items), head["etag"]


@lru_cache(maxsize=256)
def _parse_fields_cached(text: str) -> dict:
    """``parse_fields`` memoised per selector string (the tree is only ever read)."""
    return parse_fields(text)


def _filtered_list(head: dict, items: list[bytes], tree: dict) -> bytes:
    """``select_fields`` on a list response whose ``items`` are already filtered (as bytes), spliced
    in where ``select_fields`` puts them (members as JSON bytes, b"" marking the items' place).
    ``head`` may hold ``"items": None`` where the items go (then even none are ``[]``); else they go
    last, and none means no ``items`` member."""
    if items and "items" not in head:
        head = head | {"items": None}
    chosen = [(k, tree["*"]) for k in head] if "*" in tree else [(k, sub) for k, sub in tree.items() if k in head]
    members = [b"" if k == "items" else compact_json(k) + b":" + compact_json(select_fields(head[k], sub)) for k, sub in chosen]
    if b"" not in members:
        return b"{" + b",".join(members) + b"}"
    at = members.index(b"")
    return _splice(b"{" + b"".join(m + b"," for m in members[:at]) + b'"items":[', items,
                   b"]" + b"".join(b"," + m for m in members[at + 1:]) + b"}")


class EmulatedApi:
    """Keys, quota, faults and the three list methods of the Data API."""

    def __init__(self, world: World, faults: Faults, api_keys: tuple[str, ...], quota_limit: int) -> None:
        self.world = world
        self.faults = faults
        self.api_keys = frozenset(api_keys)
        self.quota = Quota(quota_limit)
        # (channel id, parts) -> (item bytes, etag, state, shape, {items fields subtree: item bytes}) or _GONE
        self._cache: dict[tuple[str, frozenset[str]], tuple] = {}
        self._cache_generation = -1
        self._cache_lock = threading.Lock()
        self.cache_limit = 100_000

    def handle(self, method_name: str, query: Mapping[str, str], headers: Mapping[str, str]) -> Response:
        """Answer ``GET /youtube/v3/<method_name>``; ``query`` holds the decoded parameters."""
        key = query.get("key") or headers.get("x-goog-api-key")
        if not key:
            return error(403, "The request is missing a valid API key.", "forbidden")
        if key not in self.api_keys:
            return error(400, "API key not valid. Please pass a valid API key.", "keyInvalid", "usageLimits")
        limit = self.faults.config.quota_limit
        if not self.quota.charge(key, self.world.now_ts, self.quota.limit if limit is None else limit):
            return quota_exceeded()
        fault = self.faults.api_fault()
        if fault == "error":
            return backend_error(self.faults.pick_5xx())
        if fault == "rate_limit":
            return rate_limited(self.faults.config.rate_limit_status)
        handler = {"channels": self._channels, "videos": self._videos,
                   "playlistItems": self._playlist_items}.get(method_name)
        if handler is None:
            return error(404, "Method not found.", "notFound")
        tree = None
        if query.get("fields"):
            try:
                tree = _parse_fields_cached(query["fields"])
            except FieldsError as exc:
                return error(400, str(exc), "invalidParameter", location="fields")
        if method_name in ("channels", "videos"):  # filter their items themselves, without a JSON round trip
            resp = handler(query, tree)
            if isinstance(resp, Response):
                return resp
            raw, etag = resp
        else:
            resp = handler(query)
            if isinstance(resp, Response):
                return resp
            raw, etag = resp
            if tree is not None:
                raw = compact_json(select_fields(json.loads(raw), tree))
        if headers.get("if-none-match", "").strip('"') == etag:
            return Response(304, b"", headers={"ETag": f'"{etag}"'})
        return Response(200, raw, headers={"ETag": f'"{etag}"'}, body_fault_allowed=True)

    @staticmethod
    def _parts(query: Mapping[str, str], allowed: frozenset[str]) -> frozenset[str] | Response:
        part = query.get("part")
        if not part:
            return error(400, "Required parameter: part", "required", location="part")
        parts = frozenset(p.strip() for p in part.split(","))
        bad = sorted(parts - allowed)
        if bad:
            return error(400, f"'{bad[0]}'", "unknownPart", "youtube.part", location="part")
        return parts

    @staticmethod
    def _max_results(query: Mapping[str, str], least: int = 0) -> int | Response:
        raw = query.get("maxResults", "5")
        if not raw.isdigit() or not least <= int(raw) <= 50:
            return error(400, f"Invalid value '{raw}'. Values must be within the range: [{least}, 50]",
                         "invalidParameter", location="maxResults")
        return int(raw)

    @staticmethod
    def _ids(query: Mapping[str, str], filters: str = _CHANNEL_FILTERS) -> list[str] | Response:
        raw = query.get("id")
        if raw is None:
            return error(400, f"No filter selected. Expected one of: {filters}", "missingRequiredParameter",
                         "youtube.parameter")
        ids = raw.split(",")
        if "" in ids or " " in raw or not raw.isprintable():  # whatever strip() removes is one of those
            ids = [i.strip() for i in ids if i.strip()]
        ids = list(dict.fromkeys(ids))
        if len(ids) > MAX_IDS:
            return error(400, "The request specifies more than the maximum of 50 ids.", "badRequest",
                         location="id")
        return ids

    def _channel_cache(self) -> tuple[dict, int]:
        """The item cache for the world's current generation (replaced, not cleared, when stale)."""
        world = self.world
        with self._cache_lock:
            if self._cache_generation != world.generation:
                self._cache = {}
                self._cache_generation = world.generation
            return self._cache, self._cache_generation

    def _channels(self, query: Mapping[str, str], tree: dict | None = None) -> tuple[bytes, str] | Response:
        parts = self._parts(query, _CHANNEL_PARTS)
        if isinstance(parts, Response):
            return parts
        per_page = self._max_results(query)
        if isinstance(per_page, Response):
            return per_page
        ids = self._ids(query)
        if isinstance(ids, Response):
            return ids
        world = self.world
        cache, generation = self._channel_cache()
        bodies = renderers(parts, None)
        # what each item becomes under fields=: None = the whole item, else compiled renderers
        item_tree = None if tree is None else tree["*"] if "*" in tree else tree.get("items")
        shown_key = None if item_tree is None else repr(item_tree)
        selected = None if shown_key is None else renderers(parts, shown_key)
        items: list[bytes] = []
        etags: list[bytes] = []
        shown: list[bytes] = []
        lookup, index, state, limit = cache.get, world.channel_index, world.channel_now, self.cache_limit
        for cid in ids:
            key = (cid, parts)
            entry = lookup(key)
            if entry is None:
                i = index(cid) if cid.startswith("UC") else None
                if i is None:
                    continue
                c = state(i)
                if c.status == "active":
                    n = shape(c)
                    body = bodies[n](c, b"")
                    etag = _etag(body)
                    entry = (ITEM_HEAD + etag + b'",' + body[1:], etag, c, n, {})
                else:
                    entry = _GONE
                if world.generation == generation and len(cache) < limit:
                    cache[key] = entry
            if entry is _GONE:
                continue
            items.append(entry[0])
            etags.append(entry[1])
            if selected is not None:
                done = entry[4]
                out = done.get(shown_key)
                if out is None:
                    out = done[shown_key] = selected[entry[3]](entry[2], entry[1])
                shown.append(out)
        head = _list_head("youtube#channelListResponse", etags, len(items), per_page)
        if tree is None:
            return _with_items(head, items), head["etag"]
        return _filtered_list(head, shown if selected is not None else items, tree), head["etag"]

    def _videos(self, query: Mapping[str, str], tree: dict | None = None) -> tuple[bytes, str] | Response:
        """videos.list by id. ``maxResults`` is checked (1..50, the discovery document's range) but, as
        documented, has no effect with ``id``: ``resultsPerPage`` is the number of items, as recorded."""
        parts = self._parts(query, _VIDEO_PARTS)
        if isinstance(parts, Response):
            return parts
        per_page = self._max_results(query, least=1)
        if isinstance(per_page, Response):
            return per_page
        ids = self._ids(query, _VIDEO_FILTERS)
        if isinstance(ids, Response):
            return ids
        item_tree = None if tree is None else tree["*"] if "*" in tree else tree.get("items")
        render = video_renderers(parts, None if item_tree is None else repr(item_tree))
        parts_key, shows_etag = ",".join(sorted(parts)).encode(), render.shows_etag
        items: list[bytes] = []
        keys: list[bytes] = []
        for v in self.world.video_states(ids):
            if v is None or v.status in HIDDEN:
                continue
            key = video_key(v, parts_key)
            items.append(render[v.shape](v, _etag(key) if shows_etag else b""))
            keys.append(key)
        n = len(items)
        etag = video_list_etag(keys)
        page_info = {"totalResults": n, "resultsPerPage": n}
        if tree is None:
            before = b'{"kind":"youtube#videoListResponse","etag":"' + etag.encode() + b'","items":['
            return _splice(before, items, b'],"pageInfo":' + compact_json(page_info) + b"}"), etag
        head = {"kind": "youtube#videoListResponse", "etag": etag, "items": None, "pageInfo": page_info}
        return _filtered_list(head, items, tree), etag

    def _playlist_items(self, query: Mapping[str, str]) -> tuple[bytes, str] | Response:
        parts = self._parts(query, _PLAYLIST_ITEM_PARTS)
        if isinstance(parts, Response):
            return parts
        per_page = self._max_results(query)
        if isinstance(per_page, Response):
            return per_page
        playlist_id = query.get("playlistId")
        if not playlist_id:
            return error(400, "No filter selected. Expected one of: id, playlistId", "missingRequiredParameter",
                         "youtube.parameter")
        world = self.world
        i = world.channel_index(playlist_id) if playlist_id.startswith("UU") else None
        if i is None or world.status(i) != "active":
            return error(404, "The playlist identified with the request's <code>playlistId</code> parameter "
                         "cannot be found.", "playlistNotFound", "youtube.playlistItem", location="playlistId")
        offset = 0
        if query.get("pageToken"):
            parsed = parse_page_token(query["pageToken"])
            if parsed is None:
                return error(400, "The request specifies an invalid page token.", "invalidPageToken",
                             "youtube.parameter", location="pageToken")
            offset = parsed
        now = world.now_ts
        total = world.upload_count(i, now)
        page = world.uploads(i, offset, per_page, now)
        channel_id = world.channel_id(i)
        title = world.title(i, now)
        items, etags = [], []
        for pos, (vid, ts) in enumerate(page, start=offset):
            body: dict = {"id": base64.b64encode(
                f"{playlist_id}.{hashlib.blake2b(vid.encode(), digest_size=8).hexdigest().upper()}".encode()
            ).decode()}
            if "snippet" in parts:
                v = world.video(vid, now)
                body["snippet"] = {
                    "publishedAt": iso(ts), "channelId": channel_id, "title": v.title if v else "",
                    "description": v.description if v else "", "thumbnails": thumbnails(vid),
                    "channelTitle": title, "playlistId": playlist_id, "position": pos,
                    "resourceId": {"kind": "youtube#video", "videoId": vid},
                    "videoOwnerChannelTitle": title, "videoOwnerChannelId": channel_id,
                }
            if "contentDetails" in parts:
                body["contentDetails"] = {"videoId": vid, "videoPublishedAt": iso(ts)}
            if "status" in parts:
                body["status"] = {"privacyStatus": "public"}
            item, item_etag = wire_item("youtube#playlistItem", body)
            items.append(item)
            etags.append(item_etag)
        end = offset + len(page)
        next_token = page_token(end) if per_page and end < total else None
        prev_token = page_token(max(0, offset - per_page), True) if offset > 0 else None
        return list_response("youtube#playlistItemListResponse", items, etags, total, per_page, next_token, prev_token)
