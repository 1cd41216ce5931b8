"""The public Atom feed ``/feeds/videos.xml?channel_id=UC…``: no key, no quota, latest 15 uploads.

Mirrors YouTube's quirks that clients must survive: it lags (up to ~2 h for small
channels), some feeds carry the feed-level ``yt:channelId`` without its ``UC``
prefix (2026), and gone channels answer a 404 HTML page, like an outage does.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from channel_assets.emulator.api import Response
from channel_assets.emulator.world import World, iso

FEED_ENTRIES = 15
_HTML = "text/html; charset=utf-8"


def _stamp(ts: float) -> str:
    """``%Y-%m-%dT%H:%M:%S+00:00`` of the whole second, by ``iso``'s memoised dates (strftime per stamp
    was an eighth of the emulator's feed CPU)."""
    return iso(ts)[:-1] + "+00:00"


def html_error(status: int) -> Response:
    title = {404: "Not Found", 500: "Internal Server Error", 403: "Forbidden"}.get(status, "Error")
    body = (f"<!DOCTYPE html><html lang=en><meta charset=utf-8><title>Error {status} ({title})!!1</title>"
            f"<p><b>{status}.</b> <ins>That’s an error.</ins><p>The requested URL was not found on this "
            "server. <ins>That’s all we know.</ins></html>")
    return Response(status, body.encode(), _HTML)


def render_feed(world: World, channel_id: str | None, outage_status: int | None = None) -> Response:
    if outage_status is not None:
        return html_error(outage_status)
    i = world.channel_index(channel_id) if channel_id and channel_id.startswith("UC") else None
    if i is None or world.status(i) != "active":
        return html_error(404)
    now = world.now_ts
    c = world.channel(i, now)
    visible_until = now - world.feed_lag(i)
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
    for v in world.feed_videos(i, FEED_ENTRIES, visible_until, now):
        vid, ts = v.id, v.published_ts
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
