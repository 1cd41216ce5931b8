"""A deterministic simulated world of YouTube channels and videos.

Everything about channel ``i`` at simulated time ``t`` is a pure function of
``(seed, i, t - start)`` plus a small dict of explicit overrides, so a world of
millions of channels costs nothing to create and O(1) memory per channel that
is actually looked at. Events (uploads, title changes, deletions) are placed on
the time line by hashing, and looked up in O(1) or O(events since start), never
by replaying days.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import struct
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from channel_assets.emulator.hashing import b64, unb64
from channel_assets.emulator.hashing import digest as _digest
from channel_assets.emulator.hashing import keyed as _keyed
from channel_assets.emulator.hashing import unit as _unit
from channel_assets.emulator.text import ADJ as _ADJ
from channel_assets.emulator.text import COUNTRIES as _COUNTRIES
from channel_assets.emulator.text import DESCRIPTIONS as _DESCRIPTIONS
from channel_assets.emulator.text import EMOJI as _EMOJI
from channel_assets.emulator.text import NOUN as _NOUN
from channel_assets.emulator.text import UNICODE_TITLES as _UNICODE_TITLES
from channel_assets.emulator.videos import (
    HIDDEN,
    UNAVAILABLE_RATE_PER_DAY,
    Timeline,
    VideoClock,
    VideoOverride,
    VideoState,
    draw,
    gap,
    make_video,
    parse_status,
    thumbnails,
)

DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)
DAY = 86_400.0
MAX_GENERATED_UPLOADS = 500
_EXPLICIT_K0 = 512  # video numbers >= this are explicitly added uploads
_MAX_K = 1024
_DEATH_RATE_PER_DAY = 0.002
_TITLE_CHANGE_RATE_PER_DAY = 0.003
GONE_STATUSES = ("deleted", "terminated", "private")
STATUSES = ("active", *GONE_STATUSES)


def _seed_key(seed: int) -> bytes:
    return hashlib.blake2b(f"channel-assets-emulator:{seed}".encode(), digest_size=32).digest()


def _encode_channel(key: bytes, i: int) -> str:
    """16 bytes = 10 check bytes + 6 index bytes masked by the check: random-looking, decodable."""
    check = _digest(key, b"c" + i.to_bytes(6, "big"), 10)
    mask = int.from_bytes(_digest(key, b"m" + check, 6), "big")
    return "UC" + b64(check + (i ^ mask).to_bytes(6, "big"))


def _decode_channel(key: bytes, channel_id: str) -> int | None:
    if len(channel_id) != 24 or channel_id[:2] not in ("UC", "UU"):
        return None
    raw = unb64(channel_id[2:], 16)
    if raw is None:
        return None
    check = raw[:10]
    i = int.from_bytes(raw[10:], "big") ^ int.from_bytes(_digest(key, b"m" + check, 6), "big")
    if _digest(key, b"c" + i.to_bytes(6, "big"), 10) != check:
        return None
    return i


def _encode_video(key: bytes, i: int, k: int) -> str:
    payload = i * _MAX_K + k
    check = _digest(key, b"v" + payload.to_bytes(5, "big"), 3)
    mask = int.from_bytes(_digest(key, b"w" + check, 5), "big")
    return b64(check + (payload ^ mask).to_bytes(5, "big"))


def _decode_video(key: bytes, video_id: str) -> tuple[int, int] | None:
    """``(channel index, video number)`` of a video id of this key's world, else None (``_digest``
    inlined: videos.list decodes 50 ids per call)."""
    if len(video_id) != 11:
        return None
    raw = unb64(video_id, 8)
    if raw is None:
        return None
    check = raw[:3]
    h = _keyed(key, 5).copy()
    h.update(b"w" + check)
    payload = int.from_bytes(raw[3:], "big") ^ int.from_bytes(h.digest(), "big")
    h = _keyed(key, 3).copy()
    h.update(b"v" + payload.to_bytes(5, "big"))
    if h.digest() != check:
        return None
    return divmod(payload, _MAX_K)


def channel_ids(channels: int, seed: int) -> list[str]:
    """The ids of a world's channels, for seeding an app database with ids that exist."""
    key = _seed_key(seed)
    return [_encode_channel(key, i) for i in range(channels)]


_DATES: dict[int, str] = {}
# "T00:00:00Z" … "T23:59:59Z" by second of the day (~6 MB): formatting the time was 8% of the server's
# GIL time at 0 ms, every video answer carries publishedAt.
_TIMES = [f"T{hh:02d}:{mm:02d}:{ss:02d}Z" for hh in range(24) for mm in range(60) for ss in range(60)]


def iso(ts: float) -> str:
    """RFC 3339 in the API's current style (``2005-09-18T22:37:10Z``); dates memoised, times a table."""
    days, secs = divmod(int(ts), 86_400)
    date = _DATES.get(days)
    if date is None:
        date = _DATES[days] = datetime.fromtimestamp(days * 86_400, UTC).strftime("%Y-%m-%d")
    return date + _TIMES[secs]


@dataclass(slots=True)
class _Static:
    """Per-channel constants, derived from one hash."""

    id: str
    published_at: str
    thumbnail_key: str
    subs0: int
    growth: float
    views0: int
    views_rate: float
    hidden: bool
    country: str | None
    interval: float
    anchor_ts: float
    n_max: int
    death_ts: float
    death_kind: str
    feed_lag: float
    feed_id_without_uc: bool
    text_seed: int
    title0: str  # the title before the first rename
    description: str  # description and handle never change (unless overridden)
    handle: str
    renames: list[float]  # rename times found so far, computed as ``_title_version`` does; grows lazily
    video_rate: float  # availability events per day among its videos (``videos.Timeline``)
    first_video_event: float  # when the first happens: before it, none of its videos is unavailable
    # last values of what changes per simulated day / per upload slot (``channel_now``), each one tuple
    # so that threads swapping them never see a mix:
    day: tuple = (None, None, 0)  # (day, abbreviated subscribers or None, views)
    slot: tuple = (-1, 0.0)  # (upload slot m, its jitter)
    timeline: Timeline | None = None  # made once the clock passes ``first_video_event``


@dataclass(slots=True)
class ChannelState:
    """A channel as the API would describe it at the world's clock (status aside)."""

    index: int
    id: str
    status: str
    title: str
    description: str
    custom_url: str
    published_at: str
    country: str | None
    thumbnail_key: str
    subscriber_count: int | None  # already abbreviated; None when hidden
    hidden_subscriber_count: bool
    view_count: int
    video_count: int

    @property
    def uploads_playlist(self) -> str:
        return "UU" + self.id[2:]


@dataclass(slots=True)
class _Override:
    status: str | None = None
    title: str | None = None
    description: str | None = None
    uploads: dict[int, tuple[float, str]] = field(default_factory=dict)  # k -> (published_ts, title)
    videos: dict[int, VideoOverride] = field(default_factory=dict)  # k -> what a test set for that video


def abbreviate_subscribers(n: int) -> int:
    """The API rounds subscriber counts down to three significant figures."""
    if n < 1000:
        return n
    unit = 10 ** (len(str(n)) - 3)
    return n // unit * unit


class World:
    """Channels ``0..channels-1`` of one seed, with a simulated clock and test overrides.

    Thread-safe: readers take a consistent snapshot of the clock; writers hold a lock
    and bump ``generation`` so that caches keyed on it stay correct.
    """

    def __init__(self, channels: int, seed: int = 0, start: datetime | None = None) -> None:
        if channels < 0 or channels >= 2**30:
            raise ValueError("channels must be in [0, 2**30)")
        start = start or DEFAULT_START
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.channels = channels
        self.seed = seed
        self.start = start.astimezone(UTC)
        self._key = _seed_key(seed)
        self._unit_hasher = _keyed(self._key, 8)  # _unit's, for channel_now to inline it
        self._start_ts = self.start.timestamp()
        self._now_ts = self._start_ts
        self._overrides: dict[int, _Override] = {}
        self._lock = threading.Lock()
        self.generation = 0
        self._statics: dict[int, _Static] = {}  # ~1 KB per channel ever looked at; never stale
        self._index: dict[str, int] = {}  # UC id -> index, for every id decoded (or all, after prepare())
        self._video_clock = VideoClock.at(self._start_ts, self._start_ts)

    def prepare(self) -> None:
        """Build every channel's constants and the id map now, as a server does before it listens, so
        that a channel's first request costs no more than one after a clock change (~1.3 s of CPU and
        ~115 MB per 100k channels)."""
        key, index = self._key, self._index
        for i in range(self.channels):
            cid = _encode_channel(key, i)
            index[cid] = i
            self._static(i, cid)

    def _static(self, i: int, channel_id: str | None = None) -> _Static:
        """``channel_id``, when the caller has just encoded it, saves encoding it again."""
        st = self._statics.get(i)
        if st is None:
            st = self._statics[i] = self._compute_static(i, channel_id)
        return st

    # ----- clock -----------------------------------------------------------------
    @property
    def now(self) -> datetime:
        return datetime.fromtimestamp(self._now_ts, UTC)

    @now.setter
    def now(self, value: datetime) -> None:
        if value.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        with self._lock:
            self._now_ts = value.timestamp()
            self.generation += 1

    @property
    def now_ts(self) -> float:
        return self._now_ts

    def advance(self, days: float = 0, hours: float = 0, seconds: float = 0) -> datetime:
        with self._lock:
            self._now_ts += days * DAY + hours * 3600 + seconds
            self.generation += 1
        return self.now

    # ----- ids -------------------------------------------------------------------
    def channel_id(self, i: int) -> str:
        if not 0 <= i < self.channels:
            raise IndexError(i)
        return _encode_channel(self._key, i)

    def channel_index(self, channel_id: str) -> int | None:
        """Index of a ``UC…`` (or uploads ``UU…``) id of this world, else None (decoded ids are remembered)."""
        uc = "UC" + channel_id[2:] if channel_id[:2] == "UU" else channel_id
        i = self._index.get(uc)
        if i is None:
            i = _decode_channel(self._key, channel_id)
            if i is None or i >= self.channels:
                return None
            self._index[uc] = i
        return i

    def video_id(self, i: int, k: int) -> str:
        return _encode_video(self._key, i, k)

    def is_video_id(self, video_id: str) -> bool:
        """Whether ``video_id`` names a video of this world (published yet or not, available or not)."""
        dec = _decode_video(self._key, video_id)
        return dec is not None and dec[0] < self.channels

    # ----- overrides -------------------------------------------------------------
    def _override(self, i: int) -> _Override:
        return self._overrides.setdefault(i, _Override())

    def _resolve(self, channel: int | str) -> int:
        i = channel if isinstance(channel, int) else self.channel_index(channel)
        if i is None or not 0 <= i < self.channels:
            raise KeyError(channel)
        return i

    def set_status(self, channel: int | str, status: str) -> None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        i = self._resolve(channel)
        with self._lock:
            self._override(i).status = status
            self.generation += 1

    def set_title(self, channel: int | str, title: str) -> None:
        i = self._resolve(channel)
        with self._lock:
            self._override(i).title = title
            self.generation += 1

    def set_description(self, channel: int | str, description: str) -> None:
        i = self._resolve(channel)
        with self._lock:
            self._override(i).description = description
            self.generation += 1

    def add_upload(self, channel: int | str, published: datetime | None = None, title: str | None = None) -> str:
        """Add a video to a channel (default: published at the current clock); returns its id."""
        i = self._resolve(channel)
        with self._lock:
            ov = self._override(i)
            k = _EXPLICIT_K0 + len(ov.uploads)
            if k >= _MAX_K:
                raise ValueError("too many explicit uploads for one channel")
            ts = published.timestamp() if published else self._now_ts
            ov.uploads[k] = (ts, title or f"Explicit upload {k - _EXPLICIT_K0 + 1}")
            self.generation += 1
        return self.video_id(i, k)

    # ----- per-channel model -----------------------------------------------------
    def _compute_static(self, i: int, channel_id: str | None = None) -> _Static:
        h = _digest(self._key, b"s" + i.to_bytes(6, "big"), 64)
        u = [x * 2.0**-32 for x in struct.unpack(">16I", h)]
        start = self._start_ts
        subs0 = int(10 ** (1 + 6.7 * u[0] ** 1.8))
        cadence = u[1]
        n_max = MAX_GENERATED_UPLOADS
        if cadence < 0.05:
            interval = DAY * (0.6 + 0.8 * u[2])  # daily
        elif cadence < 0.35:
            interval = DAY * (4 + 6 * u[2])  # weekly
        elif cadence < 0.75:
            interval = DAY * (20 + 25 * u[2])  # monthly
        elif cadence < 0.88:
            interval = DAY * (60 + 90 * u[2])  # rare
        else:
            interval = DAY * (5 + 20 * u[2])
            n_max = 0 if cadence >= 0.98 else 1 + int(150 * u[3])  # dormant, or never uploaded
        if cadence < 0.88:
            before = 1 + int(min(300, 3650 * DAY / interval) * u[3])
            anchor = start - before * interval
        else:
            last = start - DAY * (181 + 900 * u[4])  # dormant for more than six months
            anchor = last - n_max * interval
        created = anchor - DAY * (1 + 400 * u[5])
        death_in_days = -math.log(1.0 - u[6]) / _DEATH_RATE_PER_DAY
        kind = u[7]
        text_seed = int.from_bytes(h[56:64], "big")
        videos_at_start = 0 if n_max == 0 else min(n_max, max(1, int((start - anchor) / interval)))
        video_rate = UNAVAILABLE_RATE_PER_DAY * videos_at_start
        return _Static(
            id=channel_id or _encode_channel(self._key, i),
            published_at=iso(created),
            thumbnail_key=b64(h[40:56]),
            subs0=subs0,
            growth=-0.0005 + 0.004 * u[8],
            views0=int(subs0 * (20 + 400 * u[9])) + 10,
            views_rate=subs0 * (0.05 + 2 * u[10]),
            hidden=u[11] < 0.03,
            country=None if u[12] < 0.25 else _COUNTRIES[int(u[12] * 1000) % len(_COUNTRIES)],
            interval=interval,
            anchor_ts=anchor,
            n_max=n_max,
            death_ts=start + death_in_days * DAY,
            death_kind="deleted" if kind < 0.5 else ("terminated" if kind < 0.85 else "private"),
            feed_lag=(3600 + 3600 * u[13]) if subs0 < 10_000 else 300 * u[13],
            feed_id_without_uc=u[14] < 0.3,
            text_seed=text_seed,
            title0=self._title_text(text_seed, 0),
            description=_DESCRIPTIONS[(text_seed >> 24) % len(_DESCRIPTIONS)],
            handle=f"@{_ADJ[text_seed % 20].lower()}{_NOUN[(text_seed >> 5) % 20].lower()}{(text_seed >> 10) % 10_000}",
            renames=[self._rename_after(i, start, 0)],
            video_rate=video_rate,
            first_video_event=start + gap(draw(self._key, i, 0)[0], video_rate),
        )

    def _rename_after(self, i: int, t: float, v: int) -> float:
        """When rename ``v + 1`` happens, given rename ``v`` (or the start, for v = 0) at ``t``."""
        u = _unit(self._key, b"t" + i.to_bytes(6, "big") + v.to_bytes(4, "big"))
        return t + -math.log(1.0 - u) / _TITLE_CHANGE_RATE_PER_DAY * DAY

    def _title_version(self, i: int, now: float) -> int:
        """How many times the channel renamed itself between start and ``now``."""
        t, v = self._start_ts, 0
        while True:
            t = self._rename_after(i, t, v)
            if t > now:
                return v
            v += 1

    def _title_text(self, b: int, version: int) -> str:
        """The generated title of a title version (``b`` is the channel's text seed)."""
        t = int.from_bytes(_digest(self._key, b"n" + b.to_bytes(8, "big") + version.to_bytes(4, "big")), "big")
        if t % 5 == 0:
            title = f"{_UNICODE_TITLES[(t >> 3) % 10]} {_EMOJI[(t >> 8) % 10]}"
        else:
            title = f"{_ADJ[(t >> 3) % 20]} {_NOUN[(t >> 8) % 20]}"
        if version:
            title += f" {('Official', 'TV', 'Channel', 'Reborn', 'HQ')[version % 5]}"
        return title

    def _status(self, i: int, st: _Static, now: float, ov: _Override | None) -> str:
        if ov is not None and ov.status is not None:
            return ov.status
        return st.death_kind if now >= st.death_ts else "active"

    def _generated_count(self, st: _Static, now: float, i: int) -> int:
        if st.n_max == 0 or now < st.anchor_ts:
            return 0
        pos = (now - st.anchor_ts) / st.interval
        m = int(pos)
        if m >= st.n_max:
            return st.n_max
        return m + 1 if pos - m >= self._jitter(i, m) else m

    def _jitter(self, i: int, k: int) -> float:
        h = self._unit_hasher.copy()  # _unit, inlined
        h.update(b"j" + i.to_bytes(6, "big") + k.to_bytes(2, "big"))
        return 0.05 + 0.9 * ((int.from_bytes(h.digest(), "big") >> 11) * (2.0**-53))

    def _upload_ts(self, st: _Static, i: int, k: int) -> float:
        return st.anchor_ts + (k + self._jitter(i, k)) * st.interval

    def channel(self, i: int, now: float | None = None) -> ChannelState:
        """The full state of channel ``i`` at ``now`` (default: the world's clock), computed from scratch."""
        now = self._now_ts if now is None else now
        st = self._static(i)
        ov = self._overrides.get(i)
        title, desc, handle = self._title_text(st.text_seed, self._title_version(i, now)), st.description, st.handle
        if ov is not None:
            title = ov.title if ov.title is not None else title
            desc = ov.description if ov.description is not None else desc
        day = math.floor((now - self._start_ts) / DAY)
        noise = _unit(self._key, b"d" + i.to_bytes(6, "big") + day.to_bytes(4, "big", signed=True))
        subs = int(st.subs0 * math.exp(st.growth * day) * (0.999 + 0.002 * noise))
        views = max(0, st.views0 + int(st.views_rate * (day + noise)))
        return ChannelState(
            index=i,
            id=st.id,
            status=self._status(i, st, now, ov),
            title=title,
            description=desc,
            custom_url=handle,
            published_at=st.published_at,
            country=st.country,
            thumbnail_key=st.thumbnail_key,
            subscriber_count=None if st.hidden else abbreviate_subscribers(subs),
            hidden_subscriber_count=st.hidden,
            view_count=views,
            video_count=self._upload_count(i, st, ov, now),
        )

    def channel_now(self, i: int) -> ChannelState:
        """``channel(i)`` at the world's clock, computed from each channel's remembered renames, day
        figures and upload slot: it hashes only when the clock crossed one of those since the last
        call (channels.list's path; equal to ``channel`` by test)."""
        now = self._now_ts
        st = self._statics.get(i) or self._static(i)
        renames = st.renames
        v = bisect.bisect_right(renames, now) if now < renames[-1] else self._renames_until(i, st, now)
        title = st.title0 if v == 0 else self._title_text(st.text_seed, v)
        desc = st.description
        ov = self._overrides.get(i)
        if ov is not None:
            title = ov.title if ov.title is not None else title
            desc = ov.description if ov.description is not None else desc
        day = math.floor((now - self._start_ts) / DAY)
        figures = st.day
        if figures[0] != day:
            h = self._unit_hasher.copy()  # _unit, inlined
            h.update(b"d" + i.to_bytes(6, "big") + day.to_bytes(4, "big", signed=True))
            noise = (int.from_bytes(h.digest(), "big") >> 11) * (2.0**-53)
            subs = int(st.subs0 * math.exp(st.growth * day) * (0.999 + 0.002 * noise))
            figures = st.day = (day, None if st.hidden else abbreviate_subscribers(subs),
                                max(0, st.views0 + int(st.views_rate * (day + noise))))
        n = 0
        if st.n_max and now >= st.anchor_ts:  # _generated_count, with the slot's jitter remembered
            pos = (now - st.anchor_ts) / st.interval
            m = int(pos)
            if m >= st.n_max:
                n = st.n_max
            else:
                slot = st.slot
                if slot[0] != m:
                    h = self._unit_hasher.copy()  # _jitter, inlined
                    h.update(b"j" + i.to_bytes(6, "big") + m.to_bytes(2, "big"))
                    slot = st.slot = (m, 0.05 + 0.9 * ((int.from_bytes(h.digest(), "big") >> 11) * (2.0**-53)))
                n = m + 1 if pos - m >= slot[1] else m
        if ov is not None:
            n += sum(1 for ts, _ in ov.uploads.values() if ts <= now)
        if now >= st.first_video_event or (ov is not None and ov.videos):
            n -= self._hidden_count(i, st, ov, now)
        return ChannelState(i, st.id, self._status(i, st, now, ov), title, desc, st.handle, st.published_at,
                            st.country, st.thumbnail_key, figures[1], st.hidden, figures[2], n)

    def _renames_until(self, i: int, st: _Static, now: float) -> int:
        """Extend the channel's rename times past ``now``; the title version at ``now``."""
        with self._lock:
            renames = st.renames
            while renames[-1] <= now:
                renames.append(self._rename_after(i, renames[-1], len(renames)))
        return bisect.bisect_right(renames, now)

    def title(self, i: int, now: float | None = None) -> str:
        now = self._now_ts if now is None else now
        ov = self._overrides.get(i)
        if ov is not None and ov.title is not None:
            return ov.title
        return self._title_text(self._static(i).text_seed, self._title_version(i, now))

    def status(self, i: int) -> str:
        return self._status(i, self._static(i), self._now_ts, self._overrides.get(i))

    def feed_lag(self, i: int) -> float:
        """Seconds before a new upload shows in the public feed (it lags, more for small channels)."""
        return self._static(i).feed_lag

    def feed_id_without_uc(self, i: int) -> bool:
        return self._static(i).feed_id_without_uc

    # ----- uploads ---------------------------------------------------------------
    def upload_count(self, i: int, now: float | None = None) -> int:
        now = self._now_ts if now is None else now
        return self._upload_count(i, self._static(i), self._overrides.get(i), now)

    def _upload_count(self, i: int, st: _Static, ov: _Override | None, now: float) -> int:
        """Videos in the uploads playlist: published, not deleted or private."""
        n = self._generated_count(st, now, i)
        if ov is not None:
            n += sum(1 for ts, _ in ov.uploads.values() if ts <= now)
        return n - self._hidden_count(i, st, ov, now)

    def uploads(self, i: int, offset: int = 0, limit: int = 50, now: float | None = None) -> list[tuple[str, float]]:
        """The uploads playlist: ``(video_id, published_ts)`` newest first, ``limit`` of them from ``offset``
        (deleted and private videos left out)."""
        key = self._key
        return [(_encode_video(key, i, k), ts) for k, ts in self._upload_keys(i, offset, limit, now)]

    def _upload_keys(self, i: int, offset: int, limit: int, now: float | None) -> list[tuple[int, float]]:
        """``uploads`` as ``(k, published_ts)``: the video's number within the channel, not its id."""
        now = self._now_ts if now is None else now
        st = self._static(i)
        n = self._generated_count(st, now, i)
        ov = self._overrides.get(i)
        explicit = sorted(
            ((ts, k) for k, (ts, _) in (ov.uploads.items() if ov else ()) if ts <= now), reverse=True
        )
        hidden = self._hidden(i, st, ov, now)
        out: list[tuple[int, float]] = []
        g, e, pos = n - 1, 0, 0  # merge two newest-first sequences, skipping ``offset``
        while len(out) < limit:
            gts = self._upload_ts(st, i, g) if g >= 0 else None
            if e < len(explicit) and (gts is None or explicit[e][0] >= gts):
                ts, k = explicit[e]
                e += 1
            elif gts is not None:
                ts, k = gts, g
                g -= 1
            else:
                break
            if k in hidden:
                continue
            if pos >= offset:
                out.append((k, ts))
            pos += 1
        return out

    # ----- videos ----------------------------------------------------------------
    def _timeline(self, i: int, st: _Static, now: float) -> Timeline:
        """The channel's availability events, materialised up to ``now``."""
        tl = st.timeline
        if tl is None or tl.next_ts <= now:
            with self._lock:
                tl = st.timeline
                if tl is None:
                    tl = st.timeline = Timeline(st.first_video_event)
                if tl.next_ts <= now:
                    tl.extend(now, self._key, i, st.video_rate, st.anchor_ts, st.interval, st.n_max)
        return tl

    def _hidden(self, i: int, st: _Static, ov: _Override | None, now: float) -> frozenset[int]:
        """Numbers of the channel's published videos that are deleted or private at ``now``."""
        hidden = self._timeline(i, st, now).hidden(now) if now >= st.first_video_event else frozenset()
        if ov is None or not ov.videos:
            return hidden
        out = set(hidden)
        for k, vo in ov.videos.items():
            if vo.availability is not None and self._published(i, k, st, ov, now) is not None:
                if vo.availability[0] in HIDDEN:
                    out.add(k)
                else:
                    out.discard(k)
        return frozenset(out)

    def _hidden_count(self, i: int, st: _Static, ov: _Override | None, now: float) -> int:
        """``len(self._hidden(...))``; without overrides from the timeline's remembered count."""
        if ov is not None and ov.videos:
            return len(self._hidden(i, st, ov, now))
        return self._timeline(i, st, now).hidden_count(now) if now >= st.first_video_event else 0

    def _published(self, i: int, k: int, st: _Static, ov: _Override | None, now: float,
                   generated: int | None = None) -> tuple[float, str | None] | None:
        """``(published_ts, explicit title or None)`` of video ``k`` if it is published at ``now``."""
        if k >= _EXPLICIT_K0:
            if ov is None or k not in ov.uploads or ov.uploads[k][0] > now:
                return None
            return ov.uploads[k]
        if k >= (self._generated_count(st, now, i) if generated is None else generated):
            return None
        return self._upload_ts(st, i, k), None

    def _title_now(self, i: int, st: _Static, ov: _Override | None, now: float) -> str:
        """The channel's title at ``now`` from its remembered renames (``title`` without the replay)."""
        if ov is not None and ov.title is not None:
            return ov.title
        renames = st.renames
        v = bisect.bisect_right(renames, now) if now < renames[-1] else self._renames_until(i, st, now)
        return st.title0 if v == 0 else self._title_text(st.text_seed, v)

    def _make_video(self, video_id: str, i: int, k: int, st: _Static, ov: _Override | None, now: float,
                    published: tuple[float, str | None], channel_title: str) -> VideoState:
        availability = None
        if k < _EXPLICIT_K0 and now >= st.first_video_event:
            availability = self._timeline(i, st, now).state(k, now)
        clock = self._video_clock
        if clock.now != now:
            clock = self._video_clock = VideoClock.at(self._start_ts, now)
        return make_video(self._key, video_id, i, k, st.subs0, st.id, channel_title, published[0], published[1],
                          clock, availability, ov.videos.get(k) if ov is not None else None)

    def video(self, video_id: str, now: float | None = None) -> VideoState | None:
        """A video that exists at ``now`` (published, its channel active), whatever its availability
        (``VideoState.status``; ``listed`` says whether videos.list returns it); else None."""
        now = self._now_ts if now is None else now
        dec = _decode_video(self._key, video_id)
        if dec is None or dec[0] >= self.channels:
            return None
        i, k = dec
        st = self._static(i)
        ov = self._overrides.get(i)
        if self._status(i, st, now, ov) != "active":
            return None
        published = self._published(i, k, st, ov, now)
        if published is None:
            return None
        return self._make_video(video_id, i, k, st, ov, now, published, self._title_now(i, st, ov, now))

    def video_states(self, video_ids: list[str]) -> list[VideoState | None]:
        """``[self.video(v) for v in video_ids]`` at the clock, each channel's facts looked up once
        (videos.list's path; equal by test)."""
        now, key, channels = self._now_ts, self._key, self.channels
        facts: dict[int, tuple] = {}
        out: list[VideoState | None] = []
        for vid in video_ids:
            dec = _decode_video(key, vid)
            if dec is None or dec[0] >= channels:
                out.append(None)
                continue
            i, k = dec
            f = facts.get(i)
            if f is None:
                st = self._statics.get(i) or self._static(i)
                ov = self._overrides.get(i)
                active = self._status(i, st, now, ov) == "active"
                f = facts[i] = (st, ov, active and self._title_now(i, st, ov, now),
                                active and self._generated_count(st, now, i))
            st, ov, channel_title, generated = f
            published = None if channel_title is False else self._published(i, k, st, ov, now, generated)
            out.append(None if published is None else self._make_video(vid, i, k, st, ov, now, published,
                                                                        channel_title))
        return out

    def video_truth(self, video_id: str) -> dict:
        """Ground truth for tests and benchmarks: what videos.list (snippet, contentDetails, statistics,
        status) answers for ``video_id`` at the clock, flattened, with why it is missing when it is.

        ``status`` is one of ``videos.VIDEO_STATUSES``, ``channel-gone`` (its channel is deleted,
        terminated or private) or ``not-found`` (no such video, or not published yet); ``listed`` says
        whether the answer has the item. Listed videos carry the item's values (counts as ints, None
        where the API leaves a count out); unlisted ones only their channel.
        """
        v = self.video(video_id)
        if v is None:
            dec = _decode_video(self._key, video_id)
            i = dec[0] if dec is not None and dec[0] < self.channels else None
            gone = i is not None and self.status(i) != "active"
            return {"id": video_id, "status": "channel-gone" if gone else "not-found", "listed": False,
                    "channelId": self.channel_id(i) if gone else None}
        if not v.listed:
            return {"id": video_id, "status": v.status, "listed": False, "channelId": v.channel_id}
        region = v.region_restriction
        return {
            "id": v.id, "status": v.status, "listed": True, "channelId": v.channel_id,
            "channelTitle": v.channel_title, "publishedAt": iso(v.published_ts), "title": v.title,
            "description": v.description, "tags": list(v.tags), "categoryId": v.category_id,
            "thumbnails": thumbnails(v.id, v.thumbnails), "duration": v.duration,
            "regionRestriction": None if region is None else {region[0]: list(region[1])},
            "viewCount": v.view_count, "likeCount": None if v.likes_hidden else v.like_count,
            "commentCount": None if v.comments_disabled else v.comment_count,
            "privacyStatus": v.privacy_status, "uploadStatus": v.upload_status,
            "rejectionReason": v.upload_reason if v.upload_status == "rejected" else None,
            "failureReason": v.upload_reason if v.upload_status == "failed" else None,
            "embeddable": v.embeddable, "madeForKids": v.made_for_kids,
        }

    def _video_override(self, video_id: str) -> VideoOverride:
        """The override of a video of this world (published or not); the caller holds the lock."""
        dec = _decode_video(self._key, video_id)
        if dec is None or dec[0] >= self.channels:
            raise KeyError(video_id)
        return self._override(dec[0]).videos.setdefault(dec[1], VideoOverride())

    def set_video_status(self, video_id: str, status: str) -> None:
        """``deleted``, ``private``, ``public``, ``rejected[:reason]``, ``failed[:reason]``, ``blocked:CC,..``
        or ``allowed:CC,..``; from now on, instead of what the video's generated events say."""
        availability = parse_status(status)
        with self._lock:
            vo = self._video_override(video_id)
            vo.availability = availability
            vo.revision += 1
            self.generation += 1

    def set_video_title(self, video_id: str, title: str) -> None:
        with self._lock:
            vo = self._video_override(video_id)
            vo.title = title
            vo.revision += 1
            self.generation += 1

    def set_video_description(self, video_id: str, description: str) -> None:
        with self._lock:
            vo = self._video_override(video_id)
            vo.description = description
            vo.revision += 1
            self.generation += 1

    def feed_videos(self, i: int, limit: int, visible_until: float, now: float) -> list[VideoState]:
        """``[self.video(vid, now) for vid, ts in self.uploads(i, 0, limit + 10, now) if ts <= visible_until]``,
        the first ``limit`` of those, Nones left out: the feed's entries, without decoding each id again
        and recomputing the channel's status and title per video."""
        st = self._static(i)
        ov = self._overrides.get(i)
        if self._status(i, st, now, ov) != "active":
            return []
        channel_title, generated = self._title_now(i, st, ov, now), self._generated_count(st, now, i)
        key, out = self._key, []
        for k, _ in [(k, ts) for k, ts in self._upload_keys(i, 0, limit + 10, now) if ts <= visible_until][:limit]:
            published = self._published(i, k, st, ov, now, generated)
            if published is not None:
                out.append(self._make_video(_encode_video(key, i, k), i, k, st, ov, now, published, channel_title))
        return out
