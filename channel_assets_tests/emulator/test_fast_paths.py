"""The emulator's fast paths must answer byte for byte what the plain, generic code would."""

from __future__ import annotations

import json
import random
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from channel_assets.emulator.api import compact_json, list_response, parse_fields, select_fields, wire_item
from channel_assets.emulator.server import Emulator, split_target
from channel_assets.emulator.world import STATUSES, ChannelState, World, b64, channel_ids, iso, unb64
from channel_assets.youtube.client import CHANNEL_FIELDS

SELECTORS = [
    CHANNEL_FIELDS, "items(id)", "items/snippet/title,etag", "*", "items(*)", "items", "kind,etag",
    "items(snippet(thumbnails/*/url))", "items(statistics,id),pageInfo/totalResults", "items(bogus)",
    "items(snippet/localized,contentDetails)", "items/id/x", "pageInfo,items(etag,kind)", "*(id)",
    "items(snippet(country,customUrl),statistics(subscriberCount))", "items(*(*))", "nextPageToken",
]


@pytest.fixture(scope="module")
def world() -> World:
    w = World(400, seed=3)
    w.advance(days=45)  # some channels gone, some renamed
    ids = channel_ids(400, 3)
    w.set_title(ids[1], 'Quote " and \\ and ✨\n')
    w.set_description(ids[2], "line\u2028sep </script>")
    return w


@pytest.mark.parametrize("fields", SELECTORS)
@pytest.mark.parametrize("part", ["snippet,statistics,contentDetails", "id", "snippet,contentDetails,statistics,status",
                                  "statistics"])
def test_channels_fields_equal_generic_selection(world: World, part: str, fields: str) -> None:
    ids = ",".join(channel_ids(400, 3)[:60:1][:50])
    em = Emulator(world, ["k"], 10**6)
    for _ in range(2):  # computed, then from the item cache
        full = em.respond("GET", f"/youtube/v3/channels?part={part}&id={ids}&key=k", {}, b"")
        got = em.respond("GET", f"/youtube/v3/channels?part={part}&id={ids}&key=k&fields={fields}", {}, b"")
        assert got.status == full.status == 200
        assert got.body == compact_json(select_fields(json.loads(full.body), parse_fields(fields)))
        assert got.headers == full.headers  # the list etag is of the full items


def test_no_items_found_with_fields(world: World) -> None:
    em = Emulator(world, ["k"], 10**6)
    got = em.respond("GET", f"/youtube/v3/channels?part=id&id=UCnothing&key=k&fields={CHANNEL_FIELDS}", {}, b"")
    assert json.loads(got.body) == {"pageInfo": {"totalResults": 0, "resultsPerPage": 5}}


def test_iso_and_b64_helpers() -> None:
    for ts in (0, -1, 86_399.9, 1_767_225_600, 1_100_000_000.5, -86_401):
        from datetime import UTC, datetime
        assert iso(ts) == datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    raw = bytes(range(16))
    text = b64(raw)
    assert unb64(text, 16) == raw
    for bad in (text[:-1] + "B", text.replace(text[3], "+"), text[:-2] + "==", "é" * 22, text[:21], " " + text[1:]):
        assert unb64(bad, 16) is None


# ----- fast answers against a plain oracle --------------------------------------------------------
_SHAPE = {"kind": None, "etag": None, "nextPageToken": None, "pageInfo": {"totalResults": None, "resultsPerPage": None},
          "items": {"kind": None, "etag": None, "id": None,
                    "snippet": {"title": None, "description": None, "customUrl": None, "publishedAt": None,
                                "thumbnails": {n: {"url": None, "width": None, "height": None}
                                               for n in ("default", "medium", "high")},
                                "localized": {"title": None, "description": None}, "country": None},
                    "contentDetails": {"relatedPlaylists": {"likes": None, "uploads": None}},
                    "statistics": {"viewCount": None, "subscriberCount": None, "hiddenSubscriberCount": None,
                                   "videoCount": None},
                    "status": {"privacyStatus": None, "isLinked": None, "madeForKids": None}}}
_PARTS = ("id", "snippet", "statistics", "contentDetails", "status")


def _random_selector(rng: random.Random, shape: dict, depth: int = 0) -> str:
    """A ``fields`` selector over the response's keys: subsets, ``*``, paths, nesting and unknown names."""
    names = rng.sample(sorted(shape), rng.randint(1, min(4, len(shape))))
    if rng.random() < 0.15:
        names.append("*")
    if rng.random() < 0.1:
        names.append("bogus")
    out = []
    for name in names:
        sub = shape.get(name) or (shape if name == "*" and depth < 2 else None)
        if sub and rng.random() < 0.6:
            inner = _random_selector(rng, sub, depth + 1)
            out.append(f"{name}/{inner}" if "," not in inner and "(" not in inner and rng.random() < 0.5
                       else f"{name}({inner})")
        else:
            out.append(name)
    return ",".join(out)


def _plain_item(c: ChannelState, parts: set[str]) -> dict:
    """A channel resource built the obvious way, from ``World.channel`` (the model without caches)."""
    body: dict = {"id": c.id}
    if "snippet" in parts:
        thumb = "https://yt3.ggpht.com/ytc/" + c.thumbnail_key
        body["snippet"] = {
            "title": c.title, "description": c.description, "customUrl": c.custom_url, "publishedAt": c.published_at,
            "thumbnails": {name: {"url": f"{thumb}=s{px}-c-k-c0x00ffffff-no-rj", "width": px, "height": px}
                           for name, px in (("default", 88), ("medium", 240), ("high", 800))},
            "localized": {"title": c.title, "description": c.description},
        } | ({"country": c.country} if c.country else {})
    if "contentDetails" in parts:
        body["contentDetails"] = {"relatedPlaylists": {"likes": "", "uploads": "UU" + c.id[2:]}}
    if "statistics" in parts:
        body["statistics"] = {"viewCount": str(c.view_count)} | (
            {"subscriberCount": str(c.subscriber_count)} if c.subscriber_count is not None else {}) | {
            "hiddenSubscriberCount": c.hidden_subscriber_count, "videoCount": str(c.video_count)}
    if "status" in parts:
        body["status"] = {"privacyStatus": "public", "isLinked": True, "longUploadsStatus": "longUploadsUnspecified",
                          "madeForKids": False}
    return body


def _plain_answer(world: World, index: dict[str, int], ids: list[str], parts: set[str], per_page: int,
                  fields: str | None) -> tuple[bytes, str]:
    items, etags = [], []
    for cid in dict.fromkeys(i.strip() for i in ids if i.strip()):
        i = index.get(cid)
        c = world.channel(i) if i is not None else None
        if c is not None and c.status == "active":
            item, etag = wire_item("youtube#channel", _plain_item(c, parts))
            items.append(item)
            etags.append(etag)
    raw, etag = list_response("youtube#channelListResponse", items, etags, len(items), per_page)
    if fields:
        raw = compact_json(select_fields(json.loads(raw), parse_fields(fields)))
    return raw, etag


def _target(rng: random.Random, ids: list[str], params: dict[str, str]) -> str:
    """The request as different clients spell it: one %2C-joined id, raw commas, or repeated ``id=``."""
    style = rng.randrange(3)
    if style == 2:
        return "/youtube/v3/channels?" + urlencode([*params.items(), *(("id", i) for i in ids)])
    query = urlencode(params | {"id": ",".join(ids)})
    return "/youtube/v3/channels?" + (query.replace("%2C", ",") if style == 1 else query)


@pytest.mark.parametrize("prepared", [False, True])
def test_channels_answers_equal_plain_oracle_over_time_and_mutations(prepared: bool) -> None:
    rng = random.Random(20261201 + prepared)
    n, seed = 500, 21
    world = World(n, seed)
    if prepared:
        world.prepare()
    ids = channel_ids(n, seed)
    index = {cid: i for i, cid in enumerate(ids)}
    em = Emulator(world, ["k"], 10**9)
    odd = ["UC" + "x" * 22, "UU" + ids[0][2:], " " + ids[1], "", ids[2] + "A", "UCshort"]
    for step in range(60):
        if step % 3 == 0:  # the clock moves: hours (same day figures), days, or a jump across renames
            world.advance(hours=rng.choice([0.5, 3, 25, 24 * 9, 24 * 120]))
        target = ids[rng.randrange(n)]
        mutation = rng.randrange(6)
        if mutation == 0:
            world.set_title(target, rng.choice(['Tab\there "quoted" \\ ✨', "Plain", "</script>\u2028"]))
        elif mutation == 1:
            world.set_description(target, rng.choice(["", "é" * 300, "line\nline"]))
        elif mutation == 2:
            world.set_status(target, rng.choice(STATUSES))
        elif mutation == 3:
            world.add_upload(target)
        for _ in range(4):
            batch = rng.sample(ids, rng.randint(1, 50 - len(odd)))
            if rng.random() < 0.3:
                batch += rng.sample(odd, 2) + batch[:2]  # unknown, uploads-playlist, padded, duplicate ids
            parts = set(rng.sample(_PARTS, rng.randint(1, len(_PARTS))))
            params = {"part": ",".join(parts), "key": "k"}
            per_page = rng.choice([None, 0, 5, 50])
            if per_page is not None:
                params["maxResults"] = str(per_page)
            fields = rng.choice([None, CHANNEL_FIELDS, *SELECTORS[:5], _random_selector(rng, _SHAPE)])
            if fields:
                params["fields"] = fields
            want, etag = _plain_answer(world, index, batch, parts, 5 if per_page is None else per_page, fields)
            for _ in range(2):  # computed, then from the item cache
                got = em.respond("GET", _target(rng, batch, params), {}, b"")
                assert (got.status, got.body, got.headers) == (200, want, {"ETag": f'"{etag}"'}), (step, fields)
    assert all(world.channel_now(i) == world.channel(i) for i in range(n))


def test_split_target_equals_stdlib_parsing() -> None:
    rng = random.Random(5)
    alphabet = ["a", "b", "=", "&", "%2C", "%2c", ",", "+", "%20", "%", "%zz", "%E2%9C%A8", "é", "id", "part", "#"]
    for _ in range(3000):
        query = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        target = rng.choice(["/youtube/v3/channels?", "/p?", "/x", "http://h/youtube/v3/x?"]) + query
        split = urlsplit(target)
        want = {k: ",".join(v) for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        assert split_target(target) == (split.path, want), target
