"""The emulator's fast paths must answer byte for byte what the plain, generic code would."""

from __future__ import annotations

import json

import pytest

from channel_assets.emulator.api import _dumps, parse_fields, select_fields
from channel_assets.emulator.server import Emulator
from channel_assets.emulator.world import World, _b64, _unb64, channel_ids, iso
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
        assert got.body == _dumps(select_fields(json.loads(full.body), parse_fields(fields)))
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
    text = _b64(raw)
    assert _unb64(text, 16) == raw
    for bad in (text[:-1] + "B", text.replace(text[3], "+"), text[:-2] + "==", "é" * 22, text[:21], " " + text[1:]):
        assert _unb64(bad, 16) is None
