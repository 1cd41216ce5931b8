from datetime import UTC, datetime

import httpx
import pytest

from channel_assets.youtube import parse_feed
from channel_assets.youtube.feed import normalize_channel_id

from .conftest import CH1, CH2, KEY, ok

ENTRY = """
 <entry>
  <id>yt:video:{vid}</id>
  <yt:videoId>{vid}</yt:videoId>
  <yt:channelId>{cid}</yt:channelId>
  <title>{title}</title>
  <link rel="alternate" href="https://www.youtube.com/watch?v={vid}"/>
  <author><name>Google Developers</name><uri>https://www.youtube.com/channel/{cid}</uri></author>
  <published>2026-03-01T10:00:00+00:00</published>
  <updated>2026-03-02T11:30:00.5+00:00</updated>
  <media:group>
   <media:title>{title}</media:title>
   <media:thumbnail url="https://i.ytimg.com/vi/{vid}/hqdefault.jpg" width="480" height="360"/>
   <media:description>desc</media:description>
   <media:community><media:statistics views="123"/></media:community>
  </media:group>
 </entry>"""


def feed(channel_id=CH1, entries=(("dQw4w9WgXcQ", "First &amp; best"), ("CvTApw9X8aA", "Second"))):
    body = "".join(ENTRY.format(vid=v, cid=CH1, title=t) for v, t in entries)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" xmlns:media="http://search.yahoo.com/mrss/"
      xmlns="http://www.w3.org/2005/Atom">
 <link rel="self" href="http://www.youtube.com/feeds/videos.xml?channel_id={CH1}"/>
 <id>yt:channel:{channel_id}</id>
 <yt:channelId>{channel_id}</yt:channelId>
 <title>Google Developers</title>
 <published>2007-08-23T00:34:43+00:00</published>
 {body}
</feed>""".encode()


def test_valid_feed():
    result = parse_feed(feed(), expected_channel_id=CH1)
    assert result.ok and result.failure is None
    assert [e.video_id for e in result.entries] == ["dQw4w9WgXcQ", "CvTApw9X8aA"]
    first = result.entries[0]
    assert first.title == "First & best" and first.channel_id == CH1
    assert first.published == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert first.updated == datetime(2026, 3, 2, 11, 30, 0, 500000, tzinfo=UTC)


def test_feed_level_channel_id_without_uc_prefix():
    result = parse_feed(feed(channel_id=CH1[2:]), expected_channel_id=CH1)
    assert result.ok and len(result.entries) == 2
    assert normalize_channel_id(CH1[2:]) == CH1 and normalize_channel_id("short") is None


def test_feed_of_another_channel_is_a_failure():
    assert parse_feed(feed(), expected_channel_id=CH2).failure == "channel mismatch"


def test_channel_without_videos_is_ok_and_empty():
    result = parse_feed(feed(entries=()), expected_channel_id=CH1)
    assert result.ok and result.entries == []


@pytest.mark.parametrize("body,failure", [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b"<!DOCTYPE html><html><body>consent</body></html>", "not xml (DTD refused)"),
    (b"<html><body>Sorry<br></body></html>", "not xml"),
    (b"<html><body>ok</body></html>", "not a feed"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><feed xmlns="http://www.w3.org/2005/Atom">&a;</feed>',
     "not xml (DTD refused)"),
    (b"<feed xmlns='http://www.w3.org/2005/Atom'><entry>", "not xml"),
])
def test_bad_feeds(body, failure):
    result = parse_feed(body)
    assert not result.ok and result.failure == failure and result.entries == []


def test_entries_with_bad_video_ids_are_skipped():
    result = parse_feed(feed(entries=(("bad id", "x"), ("dQw4w9WgXcQ", "ok"))), expected_channel_id=CH1)
    assert [e.video_id for e in result.entries] == ["dQw4w9WgXcQ"]


@pytest.mark.parametrize("answer,failure", [
    (httpx.Response(404, text="Not Found"), "http 404"),
    (httpx.Response(500, text="oops"), "http 500"),
    (httpx.Response(200, text="<html><body>x</body></html>"), "not a feed"),
    (httpx.Response(200, content=b""), "empty"),
])
def test_fetch_feed_failures_never_raise_and_skip_quota_and_breaker(make_client, quota, answer, failure):
    client, script = make_client(answer, breaker_threshold=1)
    for _ in range(3):
        result = client.fetch_feed(CH1)
        assert not result.ok and result.failure == failure
    assert quota.reserved == 0 and client.calls_made == 0 and client.breaker.state == "closed"


def test_fetch_feed_connection_error(make_client):
    client, _ = make_client(httpx.ConnectError("refused"))
    result = client.fetch_feed(CH1)
    assert not result.ok and result.failure.startswith("connection error")


def test_fetch_feed_sends_no_key_and_uses_feed_base(make_client):
    client, script = make_client(httpx.Response(200, content=feed()), feed_base_url="https://feeds.test/")
    result = client.fetch_feed(CH1)
    assert result.ok and len(result.entries) == 2
    url = script.requests[0].url
    assert str(url) == f"https://feeds.test/feeds/videos.xml?channel_id={CH1}"
    assert KEY not in str(url) and "key" not in url.params


def test_fetch_feed_default_base_is_api_base(make_client):
    client, script = make_client(ok({}))
    client.fetch_feed(CH1)
    assert script.requests[0].url.host == "yt.test"

