from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from channel_assets.emulator import DEFAULT_API_KEY, EmulatorServer

FIXTURES = Path("/work/shared/fixtures/youtube-api-recorded")
PARTS = "snippet,statistics,contentDetails"
ATOM, YT = "{http://www.w3.org/2005/Atom}", "{http://www.youtube.com/xml/schemas/2015}"


def _active(emulator: EmulatorServer, n: int) -> list[str]:
    w = emulator.world
    return [w.channel_id(i) for i in range(w.channels) if w.status(i) == "active"][:n]


def _busiest(emulator: EmulatorServer) -> int:
    return max(range(emulator.world.channels), key=emulator.world.upload_count)


def _error(r: httpx.Response) -> dict:
    return r.json()["error"]["errors"][0]


def test_channels_list_matches_recorded_shapes(emulator: EmulatorServer, client: httpx.Client) -> None:
    recorded = json.loads((FIXTURES / "apidata__channels__info_multiple.json").read_text())
    ids = _active(emulator, 2)
    body = client.get("/youtube/v3/channels", params={"part": PARTS, "id": ",".join(ids)}).json()
    assert body.keys() == recorded.keys() - {"items"} | {"items"}
    assert body["kind"] == "youtube#channelListResponse"
    assert body["pageInfo"] == {"totalResults": 2, "resultsPerPage": 5}
    rec, item = recorded["items"][1], body["items"][0]
    assert item.keys() == rec.keys() - {"brandingSettings"}
    for part in ("contentDetails", "statistics"):
        assert item[part].keys() == rec[part].keys()
    assert item["snippet"].keys() <= rec["snippet"].keys()
    assert item["snippet"]["thumbnails"].keys() == rec["snippet"]["thumbnails"].keys()
    assert {type(v) for v in item["statistics"].values()} <= {str, bool}
    assert item["contentDetails"]["relatedPlaylists"]["uploads"] == "UU" + item["id"][2:]
    assert item["snippet"]["customUrl"].startswith("@")
    old = json.loads((FIXTURES / "apidata__channel_info_multi.json").read_text())
    assert old["items"][0]["snippet"].keys() <= item["snippet"].keys() | {"country"}


def test_missing_ids_are_left_out_and_none_found_has_no_items(emulator: EmulatorServer, client: httpx.Client) -> None:
    w = emulator.world
    alive = _active(emulator, 2)
    w.set_status(alive[1], "deleted")
    r = client.get("/youtube/v3/channels", params={"part": PARTS, "id": f"{alive[0]},UC{'x' * 22},{alive[1]}"})
    assert r.status_code == 200 and [i["id"] for i in r.json()["items"]] == [alive[0]]
    r = client.get("/youtube/v3/channels", params={"part": PARTS, "id": alive[1]})
    recorded = json.loads((FIXTURES / "channel_terminated_single_id__from_issue_reports.json").read_text())
    assert r.status_code == 200 and r.json().keys() == recorded.keys() and r.json()["pageInfo"]["totalResults"] == 0


def test_parameter_errors(emulator: EmulatorServer, client: httpx.Client) -> None:
    ids = emulator.world.channel_id(0)
    r = client.get("/youtube/v3/channels", params={"id": ids})
    assert r.status_code == 400 and _error(r)["reason"] == "required" and _error(r)["location"] == "part"
    many = ",".join(emulator.world.channel_id(i) for i in range(51))
    r = client.get("/youtube/v3/channels", params={"part": "id", "id": many})
    assert r.status_code == 400 and _error(r)["reason"] == "badRequest"
    r = client.get("/youtube/v3/channels", params={"part": "bogus", "id": ids})
    assert r.status_code == 400 and _error(r)["reason"] == "unknownPart"
    r = client.get("/youtube/v3/channels", params={"part": "id", "id": ids, "fields": "items(id"})
    assert r.status_code == 400 and _error(r)["reason"] == "invalidParameter"


def test_fields_selection(emulator: EmulatorServer, client: httpx.Client) -> None:
    ids = ",".join(_active(emulator, 3))
    r = client.get("/youtube/v3/channels",
                   params={"part": PARTS, "id": ids, "fields": "items(id,snippet(title),statistics/videoCount)"})
    body = r.json()
    assert body.keys() == {"items"} and len(body["items"]) == 3
    assert all(i.keys() == {"id", "snippet", "statistics"} for i in body["items"])
    assert all(i["snippet"].keys() == {"title"} and i["statistics"].keys() == {"videoCount"} for i in body["items"])
    r = client.get("/youtube/v3/channels", params={"part": PARTS, "id": ids, "fields": "pageInfo,nextPageToken"})
    assert r.json() == {"pageInfo": {"totalResults": 3, "resultsPerPage": 5}}


def test_key_missing_unknown_and_header(emulator: EmulatorServer) -> None:
    params = {"part": "id", "id": emulator.world.channel_id(0)}
    with httpx.Client(base_url=emulator.base_url) as c:
        r = c.get("/youtube/v3/channels", params=params)
        err = r.json()["error"]
        assert r.status_code == 403 and err["status"] == "PERMISSION_DENIED"
        assert err["errors"][0] == {"message": "The request is missing a valid API key.", "domain": "global",
                                    "reason": "forbidden"}
        r = c.get("/youtube/v3/channels", params=params | {"key": "nope"})
        assert r.status_code == 400 and _error(r)["reason"] == "keyInvalid" and _error(r)["domain"] == "usageLimits"
        assert r.json()["error"]["status"] == "INVALID_ARGUMENT"
        r = c.get("/youtube/v3/channels", params=params, headers={"X-Goog-Api-Key": DEFAULT_API_KEY})
        assert r.status_code == 200


def test_quota_exhaustion_and_pacific_midnight_reset(emulator: EmulatorServer, client: httpx.Client) -> None:
    recorded = json.loads((FIXTURES / "quota_exceeded__from_issue_reports.json").read_text())
    emulator.faults.configure({"quota_limit": 3})
    params = {"part": "id", "id": emulator.world.channel_id(0)}
    assert [client.get("/youtube/v3/channels", params=params).status_code for _ in range(3)] == [200] * 3
    r = client.get("/youtube/v3/channels", params=params)
    assert r.status_code == 403 and r.json() == recorded
    assert httpx.get(f"{emulator.base_url}/_emulator/quota").json()["used"] == {DEFAULT_API_KEY: 3}
    # the clock starts at 2026-01-01T00:00Z = 2025-12-31 16:00 Pacific; 7 h later is still that day
    httpx.post(f"{emulator.base_url}/_emulator/clock", json={"advance_hours": 7})
    assert client.get("/youtube/v3/channels", params=params).status_code == 403
    clock = httpx.post(f"{emulator.base_url}/_emulator/clock", json={"advance_hours": 1.01}).json()["clock"]
    assert clock.startswith("2026-01-01T08:00")
    assert client.get("/youtube/v3/channels", params=params).status_code == 200


def test_invalid_requests_cost_quota(emulator: EmulatorServer, client: httpx.Client) -> None:
    client.get("/youtube/v3/channels", params={"id": "x"})
    client.get("/youtube/v3/playlistItems", params={"part": "id", "playlistId": "UUnope"})
    assert emulator.emulator.api.quota.usage(emulator.world.now_ts) == {DEFAULT_API_KEY: 2}


def test_videos_list(emulator: EmulatorServer, client: httpx.Client) -> None:
    i = _busiest(emulator)
    vids = [v for v, _ in emulator.world.uploads(i, 0, 3)]
    r = client.get("/youtube/v3/videos", params={"part": PARTS, "id": ",".join([*vids, "AAAAAAAAAAA"])})
    body = r.json()
    assert body["kind"] == "youtube#videoListResponse" and [v["id"] for v in body["items"]] == vids
    item = body["items"][0]
    assert item["snippet"]["channelId"] == emulator.world.channel_id(i)
    assert item["contentDetails"]["duration"].startswith("PT")
    assert isinstance(item["statistics"]["viewCount"], str)


def test_playlist_items_paging(emulator: EmulatorServer, client: httpx.Client) -> None:
    w = emulator.world
    i = _busiest(emulator)
    playlist, token, seen, pages = "UU" + w.channel_id(i)[2:], None, [], 0
    while True:
        params = {"part": "snippet,contentDetails", "playlistId": playlist, "maxResults": 50}
        body = client.get("/youtube/v3/playlistItems", params=params | ({"pageToken": token} if token else {})).json()
        assert body["kind"] == "youtube#playlistItemListResponse"
        assert body["pageInfo"]["totalResults"] == w.upload_count(i)
        seen += [it["contentDetails"]["videoId"] for it in body["items"]]
        pages += 1
        token = body.get("nextPageToken")
        if not token:
            break
    assert pages > 1 and seen == [v for v, _ in w.uploads(i, 0, 10_000)]
    published = [it["snippet"]["publishedAt"] for it in body["items"]]
    assert published == sorted(published, reverse=True)


def test_playlist_items_errors(emulator: EmulatorServer, client: httpx.Client) -> None:
    playlist = "UU" + emulator.world.channel_id(0)[2:]
    r = client.get("/youtube/v3/playlistItems", params={"part": "id", "playlistId": playlist, "pageToken": "junk!"})
    assert r.status_code == 400 and _error(r)["reason"] == "invalidPageToken"
    r = client.get("/youtube/v3/playlistItems", params={"part": "id", "playlistId": "UU" + "q" * 22})
    assert r.status_code == 404 and _error(r)["reason"] == "playlistNotFound"


def test_feed(emulator: EmulatorServer) -> None:
    w = emulator.world
    i = _busiest(emulator)
    cid = w.channel_id(i)
    w.advance(hours=3)  # past the feed's lag
    r = httpx.get(f"{emulator.base_url}/feeds/videos.xml", params={"channel_id": cid})
    assert r.status_code == 200
    root = ET.fromstring(r.content)
    assert root.find(f"{YT}channelId").text in (cid, cid[2:])
    entries = root.findall(f"{ATOM}entry")
    assert 0 < len(entries) <= 15
    assert [e.find(f"{YT}videoId").text for e in entries] == [v for v, _ in w.uploads(i, 0, len(entries))]
    published = [e.find(f"{ATOM}published").text for e in entries]
    assert published == sorted(published, reverse=True)
    assert all(e.find(f"{YT}channelId").text == cid for e in entries)
    views = entries[0].find("{http://search.yahoo.com/mrss/}group/{http://search.yahoo.com/mrss/}community/"
                            "{http://search.yahoo.com/mrss/}statistics")
    assert views.get("views").isdigit()
    w.set_status(cid, "deleted")
    r = httpx.get(f"{emulator.base_url}/feeds/videos.xml", params={"channel_id": cid})
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]


def test_feed_lags_behind_new_uploads(emulator: EmulatorServer) -> None:
    cid = emulator.world.channel_id(5)
    vid = emulator.world.add_upload(cid)
    url = f"{emulator.base_url}/feeds/videos.xml"
    assert vid.encode() not in httpx.get(url, params={"channel_id": cid}).content
    emulator.world.advance(hours=2.1)
    assert vid.encode() in httpx.get(url, params={"channel_id": cid}).content


def test_fault_injection(emulator: EmulatorServer, client: httpx.Client) -> None:
    base, params = emulator.base_url, {"part": "id", "id": emulator.world.channel_id(0)}
    httpx.post(f"{base}/_emulator/faults", json={"fail_next": 2})
    codes = [client.get("/youtube/v3/channels", params=params) for _ in range(3)]
    assert [r.status_code in (500, 503) for r in codes] == [True, True, False]
    assert _error(codes[0])["reason"] == "backendError"
    httpx.post(f"{base}/_emulator/faults", json={"rate_limit_rate": 1.0, "rate_limit_status": 429})
    r = client.get("/youtube/v3/channels", params=params)
    assert r.status_code == 429 and _error(r)["reason"] == "rateLimitExceeded"
    httpx.post(f"{base}/_emulator/faults", json={"malformed_rate": 1.0})
    r = client.get("/youtube/v3/channels", params=params)
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    httpx.post(f"{base}/_emulator/faults", json={"truncated_rate": 1.0})
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/youtube/v3/channels", params=params)
    httpx.post(f"{base}/_emulator/faults", json={"latency_ms": 30})
    r = client.get("/youtube/v3/channels", params=params)
    assert r.status_code == 200 and r.elapsed.total_seconds() >= 0.03
    httpx.post(f"{base}/_emulator/faults", json={"feed_outage": True})
    assert httpx.get(f"{base}/feeds/videos.xml", params={"channel_id": params["id"]}).status_code == 404
    httpx.delete(f"{base}/_emulator/faults")
    assert client.get("/youtube/v3/channels", params=params).status_code == 200


def test_error_rate_is_deterministic_under_seed(emulator: EmulatorServer, client: httpx.Client) -> None:
    params = {"part": "id", "id": emulator.world.channel_id(0)}

    def run() -> list[int]:
        httpx.post(f"{emulator.base_url}/_emulator/faults", json={"error_rate": 0.3, "seed": 4})
        return [client.get("/youtube/v3/channels", params=params).status_code for _ in range(30)]

    first = run()
    assert first == run() and 200 in first and {500, 503} & set(first)


def test_state_and_overrides_and_stats(emulator: EmulatorServer, client: httpx.Client) -> None:
    base = emulator.base_url
    state = httpx.get(f"{base}/_emulator/state", params={"offset": 10, "limit": 5}).json()
    assert state["total"] == 300 and len(state["channels"]) == 5 and state["clock"] == "2026-01-01T00:00:00Z"
    first = state["channels"][0]
    assert first["id"] == emulator.world.channel_id(10) and len(first["uploads"]) == first["videoCount"]
    cid = first["id"]
    api = client.get("/youtube/v3/channels", params={"part": PARTS, "id": cid}).json()["items"][0]
    assert str(first["videoCount"]) == api["statistics"]["videoCount"]
    assert str(first["viewCount"]) == api["statistics"]["viewCount"]
    assert first["title"] == api["snippet"]["title"]
    changed = httpx.post(f"{base}/_emulator/channels/{cid}", json={"title": "New name", "status": "private"}).json()
    assert changed["status"] == "private" and changed["title"] == "New name"
    assert "items" not in client.get("/youtube/v3/channels", params={"part": PARTS, "id": cid}).json()
    httpx.post(f"{base}/_emulator/clock", json={"advance_days": 10})
    later = httpx.get(f"{base}/_emulator/state", params={"offset": 10, "limit": 1}).json()
    assert later["clock"] == "2026-01-11T00:00:00Z" and later["channels"][0]["status"] == "private"
    stats = httpx.get(f"{base}/_emulator/stats").json()
    assert stats["api.channels"] == 2 and stats["control"] >= 4


def test_etag_if_none_match(emulator: EmulatorServer, client: httpx.Client) -> None:
    params = {"part": PARTS, "id": emulator.world.channel_id(0)}
    r = client.get("/youtube/v3/channels", params=params)
    again = client.get("/youtube/v3/channels", params=params, headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
