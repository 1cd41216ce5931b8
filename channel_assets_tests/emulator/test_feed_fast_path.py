"""The emulator's feed renderer (``World.feed_videos``) must answer byte for byte what the plain one did:
``World.uploads`` then ``World.video`` per entry. The plain renderer is kept here as the reference."""

from __future__ import annotations

from datetime import timedelta
from xml.sax.saxutils import escape, quoteattr

from channel_assets.emulator.api import Response
from channel_assets.emulator.feed import FEED_ENTRIES, _stamp, html_error, render_feed
from channel_assets.emulator.world import World, channel_ids


def plain_render_feed(world: World, channel_id: str | None, outage_status: int | None = None) -> Response:
    if outage_status is not None:
        return html_error(outage_status)
    i = world.channel_index(channel_id) if channel_id and channel_id.startswith("UC") else None
    if i is None or world.status(i) != "active":
        return html_error(404)
    now = world.now_ts
    c = world.channel(i, now)
    visible_until = now - world.feed_lag(i)
    uploads = [(vid, ts) for vid, ts in world.uploads(i, 0, FEED_ENTRIES + 10, now) if ts <= visible_until]
    channel_url = f"https://www.youtube.com/channel/{c.id}"
    feed_channel_id = c.id[2:] if world.feed_id_without_uc(i) else c.id
    title = escape(c.title)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" xmlns:media="http://search.yahoo.com/mrss/" '
        'xmlns="http://www.w3.org/2005/Atom">\n',
        f' <link rel="self" href="http://www.youtube.com/feeds/videos.xml?channel_id={c.id}"/>\n',
        f" <id>yt:channel:{feed_channel_id}</id>\n <yt:channelId>{feed_channel_id}</yt:channelId>\n",
        f" <title>{title}</title>\n <link rel=\"alternate\" href=\"{channel_url}\"/>\n",
        f" <author>\n  <name>{title}</name>\n  <uri>{channel_url}</uri>\n </author>\n",
        f" <published>{c.published_at.replace('Z', '+00:00')}</published>\n",
    ]
    for vid, ts in uploads[:FEED_ENTRIES]:
        v = world.video(vid, now)
        if v is None:
            continue
        vt = escape(v.title)
        updated = min(now, ts + 3600 * (1 + len(vid) % 5))
        out.append(
            f" <entry>\n  <id>yt:video:{vid}</id>\n  <yt:videoId>{vid}</yt:videoId>\n"
            f"  <yt:channelId>{c.id}</yt:channelId>\n  <title>{vt}</title>\n"
            f"  <link rel=\"alternate\" href=\"https://www.youtube.com/watch?v={vid}\"/>\n"
            f"  <author>\n   <name>{title}</name>\n   <uri>{channel_url}</uri>\n  </author>\n"
            f"  <published>{_stamp(ts)}</published>\n  <updated>{_stamp(updated)}</updated>\n"
            f"  <media:group>\n   <media:title>{vt}</media:title>\n"
            f"   <media:content url={quoteattr(f'https://www.youtube.com/v/{vid}?version=3')} "
            'type="application/x-shockwave-flash" width="640" height="390"/>\n'
            f"   <media:thumbnail url=\"https://i1.ytimg.com/vi/{vid}/hqdefault.jpg\" width=\"480\" height=\"360\"/>\n"
            f"   <media:description>{escape(v.description)}</media:description>\n"
            f"   <media:community>\n    <media:starRating count=\"{v.like_count}\" average=\"5.00\" min=\"1\" "
            f"max=\"5\"/>\n    <media:statistics views=\"{v.view_count}\"/>\n   </media:community>\n"
            "  </media:group>\n </entry>\n"
        )
    out.append("</feed>\n")
    return Response(200, "".join(out).encode(), "application/atom+xml; charset=UTF-8")


def _same(world: World, ids: list[str]) -> int:
    ok = 0
    for cid in ids:
        got, want = render_feed(world, cid), plain_render_feed(world, cid)
        assert (got.status, got.headers, got.body) == (want.status, want.headers, want.body), cid
        ok += got.status == 200
    return ok


def test_feed_equals_plain_renderer_across_clock_and_mutations() -> None:
    world = World(300, seed=5)
    ids = channel_ids(300, 5)
    assert _same(world, ids) > 0
    for days in (1, 0.3, 20, 200):  # uploads appear, the feed lag passes, channels go away or are renamed
        world.advance(days=days)
        assert _same(world, ids) > 0
    world.set_title(ids[3], 'Quote " & <b> ✨')
    world.set_description(ids[4], "line\u2028sep </script>")
    for cid in ids[5:25]:
        world.add_upload(cid, world.now - timedelta(hours=5), "Explicit <upload> & co")
        world.add_upload(cid, world.now + timedelta(hours=1))  # published later: not in the feed yet
    world.add_upload(ids[6], world.now - timedelta(days=400), "old")  # older than the feed's 15
    world.set_status(ids[7], "private")
    world.set_status(ids[8], "terminated")
    assert _same(world, ids) > 0
    world.advance(hours=3)
    assert _same(world, ids) > 0
    world.set_status(ids[7], "active")
    assert _same(world, ids + ["UCnothing", "not-an-id"]) > 0
    assert render_feed(world, None).status == plain_render_feed(world, None).status == 404
