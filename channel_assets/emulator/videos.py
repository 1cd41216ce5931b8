"""Videos of the simulated world: what each one says, how its counts grow, when it changes or goes.

A video is (channel ``i``, number ``k``). Its constants (title, description and tag picks,
duration, thumbnails, flags, count curves, the first title and description change) come
from one 32-byte keyed hash. Its counts are increasing functions of its age, each with its
own curve, so like/view and comment/view ratios differ per video and drift as it ages. Title
and description changes are hash-chained moments, like channel renames.

Availability changes are placed per channel, not per video: a channel's events arrive as a
Poisson process at ``UNAVAILABLE_RATE_PER_DAY`` times its videos at the start, each one picking
a video published by then. The hidden videos at any moment are then a fold over a few events
(``Timeline``), cheap enough for every uploads playlist page and every ``videoCount``.

What the real API does with unavailable videos, as far as public reports go (and how sure):

- Deleted and private videos are left out of a ``videos.list`` answer made with an API key:
  HTTP 200 and no item, the two indistinguishable (claudiob/yt#382: a deleted id answers an
  empty list; clients treat "missing" as "deleted or private"). Fairly sure.
- An answer without items still has ``"items": []`` and ``pageInfo`` ``{totalResults: 0,
  resultsPerPage: 0}`` (recorded in nekland/youtube-api's tests and kaltura/server#8225, both
  before 2020); with items, ``resultsPerPage`` is their number (the recorded fixtures), and
  ``items`` comes before ``pageInfo`` (a 2021 recording). Moderately sure; channels.list answers
  a missing channel without an ``items`` key (recorded in 2026).
- In an ordinary playlist, playlistItems.list keeps such videos as "Deleted video"
  (``status.privacyStatus`` "privacyStatusUnspecified") and "Private video" ("private"): many
  clients filter on exactly that. The channel *uploads* playlist, the only one the emulator
  serves, does not list them at all (mattwright324/youtube-metadata#56, "the typical channel
  uploads playlist does not list deleted/private video ids"; Elijas/auto-youtube-subscription-
  playlist-2#74). So here they leave the uploads playlist and the feed (moderately sure), and the
  channel's ``videoCount``, which the channels reference documents as "the count of the channel's
  public videos only, even to owners" (sure; whether rejected or failed uploads count is not
  said, here they do).
- Rejected or failed uploads (``status.uploadStatus`` with ``rejectionReason``/``failureReason``)
  and region-restricted videos (``contentDetails.regionRestriction`` ``blocked``/``allowed``)
  are returned with those fields, as the discovery document describes them. Least sure:
  kaltura/server#8225 saw a length-rejected upload answer nothing to its owner.
- ``likeCount`` is absent when the owner hides likes (ZeroQI/YouTube-Agent.bundle#15), and
  ``commentCount`` when comments are disabled (ThioJoe/YT-Spammer-Purge#346 and others).
- Quota: 1 unit per ``videos.list`` call, whatever the parts (the quota cost table). Errors: an
  unknown part, more than 50 ids and no filter answer the bodies channels.list answers here; their
  exact wording for videos.list was not found recorded.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
import struct
from array import array
from dataclasses import dataclass
from functools import lru_cache

from channel_assets.emulator.hashing import digest, keyed, unit
from channel_assets.emulator.text import ADJ, COUNTRIES, DESCRIPTIONS, EMOJI, NOUN, UNICODE_TITLES, WORDS

DAY = 86_400.0
UNAVAILABLE_RATE_PER_DAY = 0.001  # per video: deleted, private, rejected, failed or region-blocked
TITLE_CHANGE_RATE_PER_DAY = 0.003
DESCRIPTION_CHANGE_RATE_PER_DAY = 0.002
VIDEO_STATUSES = ("available", "deleted", "private", "rejected", "failed", "region-blocked")
HIDDEN = frozenset({"deleted", "private"})  # left out of videos.list, the uploads playlist and videoCount
REJECTION_REASONS = ("copyright", "inappropriate", "duplicate", "termsOfUse", "uploaderAccountSuspended", "length",
                     "claim", "uploaderAccountClosed", "trademark", "legal")
FAILURE_REASONS = ("conversion", "invalidFile", "emptyFile", "tooSmall", "codec", "uploadAborted")
CATEGORIES = ("1", "2", "10", "15", "17", "19", "20", "22", "23", "24", "25", "26", "27", "28")
_KIND_BOUNDS = (0.30, 0.60, 0.70, 0.75, 0.90)  # cumulative shares of the kinds below, the last one the rest
_KINDS = ("deleted", "private", "rejected", "failed", "blocked", "allowed")
_COMEBACK_SHARE = 0.4  # of private videos, public again after 1-14 days
_TITLE_SUFFIXES = (" (Remastered)", " | Update", " [Part 2]", " – Director's Cut", " (re-upload)")
THUMBNAIL_SIZES = (("default", "default", 120, 90), ("medium", "mqdefault", 320, 180), ("high", "hqdefault", 480, 360),
                   ("standard", "sddefault", 640, 480), ("maxres", "maxresdefault", 1280, 720))

Availability = tuple[str, object] | None  # (kind, reason or country codes); None: public and processed


def _title_pool() -> tuple[str, ...]:
    """Generated video titles; some with emoji and other scripts, quotes and backslashes."""
    rng = random.Random(20260102)
    pool = []
    for n in range(4096):
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 7))).capitalize()
        style = n % 16
        if style == 0:
            title += f" {EMOJI[n // 16 % 10]} {UNICODE_TITLES[n // 160 % 10]}"
        elif style == 1:
            title = f'{ADJ[n // 16 % 20]} {NOUN[n // 320 % 20]}: "{title}"'
        elif style == 2:
            title += " \\o/ #shorts"
        pool.append(title)
    return tuple(pool)


def _tag_pool() -> tuple[tuple[str, ...], ...]:
    """Tag lists: a fifth empty (the API then leaves ``tags`` out), the rest 1-12 tags."""
    rng = random.Random(20260103)
    pool: list[tuple[str, ...]] = []
    for n in range(1024):
        if n % 5 == 0:
            pool.append(())
            continue
        tags = []
        for _ in range(rng.randint(1, 12)):
            pick = rng.randrange(4)
            tags.append(rng.choice(WORDS) if pick < 2 else f"{rng.choice(ADJ)} {rng.choice(NOUN)}".lower()
                        if pick == 2 else rng.choice(UNICODE_TITLES))
        pool.append(tuple(dict.fromkeys(tags)))
    return tuple(pool)


TITLES = _title_pool()
TAGS = _tag_pool()


@dataclass(slots=True)
class VideoState:
    """A video as the API would describe it at the world's clock, whether or not it would be listed."""

    id: str
    channel_index: int
    channel_id: str
    channel_title: str
    published_ts: float
    title: str
    description: str
    duration: str
    view_count: int
    like_count: int  # the true count, also when the API hides it (``likes_hidden``)
    comment_count: int
    status: str = "available"  # one of VIDEO_STATUSES
    tags: tuple[str, ...] = ()
    category_id: str = "22"
    thumbnails: int = 5  # 3: default, medium, high; 4: + standard; 5: + maxres
    definition: str = "hd"
    caption: str = "false"
    licensed_content: bool = False
    region_restriction: tuple[str, tuple[str, ...]] | None = None  # ("blocked" | "allowed", codes)
    upload_status: str = "processed"
    upload_reason: str | None = None  # rejectionReason or failureReason
    privacy_status: str = "public"
    license: str = "youtube"
    embeddable: bool = True
    public_stats_viewable: bool = True
    made_for_kids: bool = False
    likes_hidden: bool = False
    comments_disabled: bool = False
    revision: tuple[int, int, int] = (0, 0, 0)  # title and description versions, override revision
    shape: int = 0  # which optional members the item has (``video_render``)

    @property
    def listed(self) -> bool:
        """Whether videos.list with an API key returns it."""
        return self.status not in HIDDEN


@dataclass(slots=True)
class VideoOverride:
    """A test's explicit say over one video: availability, title, description (None: as generated)."""

    availability: tuple[str, object] | None = None  # ("public", None) forces public and processed
    title: str | None = None
    description: str | None = None
    revision: int = 0


def thumbnails(video_id: str, count: int = 5) -> dict:
    """The ``snippet.thumbnails`` object of a video with ``count`` sizes (smallest first)."""
    return {name: {"url": f"https://i.ytimg.com/vi/{video_id}/{file}.jpg", "width": w, "height": h}
            for name, file, w, h in THUMBNAIL_SIZES[:count]}


def parse_status(text: str) -> tuple[str, object]:
    """``deleted``, ``private``, ``public``, ``rejected[:reason]``, ``failed[:reason]``,
    ``blocked:CC,CC`` or ``allowed:CC,CC`` (region codes) as an availability."""
    kind, _, arg = text.partition(":")
    if kind in ("deleted", "private", "public") and not arg:
        return kind, None
    if kind == "rejected" and (not arg or arg in REJECTION_REASONS):
        return kind, arg or REJECTION_REASONS[0]
    if kind == "failed" and (not arg or arg in FAILURE_REASONS):
        return kind, arg or FAILURE_REASONS[0]
    codes = tuple(c.strip() for c in arg.split(","))
    if kind in ("blocked", "allowed") and arg and all(len(c) == 2 and c.isalpha() and c.isupper() for c in codes):
        return kind, codes
    raise ValueError("status must be deleted, private, public, rejected[:reason], failed[:reason], "
                     "blocked:CC,.. or allowed:CC,..")


def draw(key: bytes, i: int, j: int) -> tuple[float, ...]:
    """Eight uniforms for availability event ``j`` of channel ``i``: [0] its gap, the rest its content."""
    raw = digest(key, b"a" + i.to_bytes(6, "big") + j.to_bytes(4, "big"), 32)
    return tuple(map((2.0**-32).__mul__, struct.unpack(">8I", raw)))


def gap(u: float, rate_per_day: float) -> float:
    """Seconds to the next event of a Poisson process (``inf`` when the rate is 0)."""
    return -math.log(1.0 - u) / rate_per_day * DAY if rate_per_day > 0 else math.inf


def _region(first: int, n: int) -> tuple[str, ...]:
    return tuple(sorted({COUNTRIES[(first + 4 * m) % len(COUNTRIES)] for m in range(n)}))


_PUBLIC = len(_KINDS)  # the kind index of a private video's comeback, and of a public video's state


def _applies(state: int, kind: int) -> bool:
    """Whether an event of ``kind`` changes a video in ``state`` (kind indexes): deletion and rejected or
    failed uploads are final, a private video only comes back or is deleted."""
    name = _KINDS[state] if state < _PUBLIC else "public"
    if name in ("deleted", "rejected", "failed"):
        return False
    if kind == _PUBLIC:
        return name == "private"
    return name != "private" or _KINDS[kind] == "deleted"


_APPLIES = tuple(tuple(_applies(s, k) for k in range(_PUBLIC + 1)) for s in range(_PUBLIC + 1))
_HIDDEN_KINDS = frozenset(n for n, name in enumerate(_KINDS) if name in HIDDEN)
_DETAILS = (None, None, REJECTION_REASONS, FAILURE_REASONS, *[tuple(_region(f, n) for f in range(len(COUNTRIES))
                                                                   for n in (1, 2, 3))] * 2, None)


def _event(u: tuple[float, ...]) -> tuple[int, float]:
    """Kind and detail of one availability event packed as ``kind << 6 | detail`` (detail: an index into
    its kind's reasons or region lists), and its comeback delay (0: none)."""
    kind = bisect.bisect_right(_KIND_BOUNDS, u[2])
    name = _KINDS[kind]
    if name == "rejected":
        return kind << 6 | int(u[3] * len(REJECTION_REASONS)), 0.0
    if name == "failed":
        return kind << 6 | int(u[3] * len(FAILURE_REASONS)), 0.0
    if name in ("blocked", "allowed"):
        return kind << 6 | (3 * int(u[3] * len(COUNTRIES)) + int(u[4] * 3)), 0.0
    if name == "private" and u[4] < _COMEBACK_SHARE:
        return kind << 6, DAY * (1 + 13 * u[5])
    return kind << 6, 0.0


def _availability(code: int) -> Availability:
    """The availability an event ``code`` sets: ``(kind, detail)``, or None for a comeback."""
    kind, detail = code >> 6 & 7, code & 63
    if kind == _PUBLIC:
        return None
    details = _DETAILS[kind]
    return _KINDS[kind], None if details is None else details[detail]


class Timeline:
    """One channel's availability events in time order, materialised on demand.

    Stored flat (``array('d')`` of time, code, time, code, ...; a code is ``k << 9 | kind << 6 |
    detail``): ~16 bytes an event, as a world of 100k channels gathers ~10 a day. Readers never lock:
    the writer (holding the world's lock) replaces the array and sets ``next_ts`` last, so a reader that
    reads ``next_ts`` first sees every event before it.
    """

    __slots__ = ("events", "next_j", "next_ts", "window")

    def __init__(self, first_ts: float) -> None:
        self.events = array("d")
        self.next_ts = first_ts  # when event ``next_j`` happens: nothing at or after it is materialised
        self.next_j = 0
        self.window: tuple[float, float, int] = (math.inf, -math.inf, 0)  # (since, until, hidden count)

    def extend(self, until: float, key: bytes, i: int, rate_per_day: float, anchor_ts: float, interval: float,
               n_max: int) -> None:
        """Materialise every event up to ``until`` (the caller holds the world's lock). An event picks
        one of the videos whose upload slot had passed by then (``anchor_ts``, ``interval``, ``n_max``:
        the channel's upload schedule), so it never picks one not published yet."""
        events = self.events
        pairs = list(zip(events[::2], events[1::2], strict=True)) if events else []
        ts, j = self.next_ts, self.next_j
        u = draw(key, i, j)
        while ts <= until:
            published = min(n_max, int((ts - anchor_ts) / interval)) if ts > anchor_ts else 0
            if published:
                k = int(u[1] * published)
                code, back = _event(u)
                pairs.append((ts, k << 9 | code))
                if back:
                    pairs.append((ts + back, k << 9 | _PUBLIC << 6))
            j += 1
            u = draw(key, i, j)
            ts += gap(u[0], rate_per_day)
        pairs.sort()
        self.events, self.next_j = array("d", itertools.chain.from_iterable(pairs)), j
        self.next_ts = ts

    def state(self, k: int, now: float) -> Availability:
        """Video ``k``'s generated availability at ``now`` (materialised up to ``now``)."""
        state, last = _PUBLIC, 0
        events = self.events
        for n in range(0, len(events), 2):
            if events[n] > now:
                break
            code = int(events[n + 1])
            if code >> 9 == k and _APPLIES[state][code >> 6 & 7]:
                state, last = code >> 6 & 7, code
        return None if state == _PUBLIC else _availability(last)

    def hidden(self, now: float) -> frozenset[int]:
        """The video numbers deleted or private at ``now`` (materialised up to ``now``)."""
        return self._fold(now)[2]

    def hidden_count(self, now: float) -> int:
        """``len(hidden(now))``, remembered for the span until the next event."""
        window = self.window
        if window[0] <= now < window[1]:
            return window[2]
        since, until, hidden = self._fold(now)
        self.window = (since, until, len(hidden))
        return len(hidden)

    def _fold(self, now: float) -> tuple[float, float, frozenset[int]]:
        """The hidden videos at ``now`` and the span of time they stay so: (last event at or before
        ``now``, next event after it)."""
        until = self.next_ts
        events = self.events
        states: dict[int, int] = {}
        since = -math.inf
        for n in range(0, len(events), 2):
            ts = events[n]
            if ts > now:
                until = min(until, ts)
                break
            code = int(events[n + 1])
            kind = code >> 6 & 7
            if _APPLIES[states.get(code >> 9, _PUBLIC)][kind]:
                states[code >> 9] = kind
            since = ts
        return since, until, frozenset(k for k, s in states.items() if s in _HIDDEN_KINDS)


@dataclass(frozen=True, slots=True)
class VideoClock:
    """What ``make_video`` needs of the clock, worked out once per clock reading: the chance that a
    video's first title (description) change has happened, so most videos need no logarithm."""

    start_ts: float
    now: float
    title_p: float
    description_p: float

    @classmethod
    def at(cls, start_ts: float, now: float) -> VideoClock:
        days = max(0.0, (now - start_ts) / DAY)
        return cls(start_ts, now, -math.expm1(-TITLE_CHANGE_RATE_PER_DAY * days),
                   -math.expm1(-DESCRIPTION_CHANGE_RATE_PER_DAY * days))


def _version(key: bytes, tag: bytes, u: float, start_ts: float, rate: float, now: float) -> int:
    """How many hash-chained changes happened by ``now``, the first ``gap(u)`` after the start (the
    caller skips videos whose ``u`` is past ``VideoClock``'s chance that the first has happened)."""
    version, t = 0, start_ts + gap(u, rate)
    while t <= now:
        version += 1
        t += gap(unit(key, tag + version.to_bytes(4, "big")), rate)
    return version


@lru_cache(maxsize=4096)
def _duration(secs: int) -> str:
    hh, rem = divmod(secs, 3600)
    mm, ss = divmod(rem, 60)
    return "PT" + (f"{hh}H" if hh else "") + (f"{mm}M" if mm else "") + (f"{ss}S" if ss else "")


_THUMBS = (5, 5, 5, 5, 5, 5, 4, 4, 4, 3)
_UPLOAD_KIND = {"processed": 0, "rejected": 24, "failed": 48}
_REGION_KIND = {"blocked": 72, "allowed": 144}


def make_video(key: bytes, video_id: str, i: int, k: int, subs0: int, channel_id: str, channel_title: str,
               published_ts: float, explicit_title: str | None, clock: VideoClock, availability: Availability,
               override: VideoOverride | None) -> VideoState:
    """Video ``k`` of channel ``i`` at ``clock.now``, given its channel's facts and generated availability.

    Its constants are eight 32-bit words of one hash: [0] title, description and tag picks,
    [1] duration and thumbnails, [2]-[3] flags, [4]-[5] count curves, [6]-[7] first title and
    description change.
    """
    ik = (i << 16 | k).to_bytes(8, "big")  # i.to_bytes(6) + k.to_bytes(2)
    h = keyed(key, 32).copy()
    h.update(b"V" + ik)
    w0, w1, w2, w3, w4, w5, w6, w7 = struct.unpack(">8I", h.digest())
    now = clock.now
    if explicit_title is None:
        tv = dv = 0
        if w6 * 2.0**-32 < clock.title_p:
            tv = _version(key, b"T" + ik, w6 * 2.0**-32, clock.start_ts, TITLE_CHANGE_RATE_PER_DAY, now)
        if w7 * 2.0**-32 < clock.description_p:
            dv = _version(key, b"D" + ik, w7 * 2.0**-32, clock.start_ts, DESCRIPTION_CHANGE_RATE_PER_DAY, now)
        t = w0 & 4095
        title = TITLES[t] if tv == 0 else TITLES[(t + 977 * tv) % 4096] + _TITLE_SUFFIXES[tv % 5]
    else:
        tv = dv = 0
        title = explicit_title
    description = DESCRIPTIONS[((w0 >> 12) % 256 + 7 * dv) % len(DESCRIPTIONS)]
    revision = 0
    if override is not None:
        title = title if override.title is None else override.title
        description = description if override.description is None else override.description
        availability = override.availability or availability
        revision = override.revision
    age = (now - published_ts) / DAY if now > published_ts else 0.0
    peak = subs0 * (0.05 + 0.003 * (w4 % 1000))
    tau = 1 + 0.014 * ((w4 >> 10) % 1000)
    tail = (peak * (0.0005 + 0.000003 * ((w4 >> 20) % 1000)) + 0.5 + (w7 & 1023) / 256) * age  # views/day, long after
    views = int(peak * (1 - math.exp(-age / tau)) + tail)
    likes = int((0.005 + 0.000075 * (w5 % 1000))
                * (peak * (1 - math.exp(-age / (tau * (0.3 + 0.005 * ((w3 >> 24) % 100))))) + 0.5 * tail))
    comments = int((0.0003 + 0.00001 * ((w5 >> 10) % 1000))
                   * (peak * (1 - math.exp(-age / (tau * (0.5 + 0.01 * ((w5 >> 20) % 100))))) + 0.3 * tail))
    r = (w1 % 10_000) / 10_000
    secs = int(15 + 3000 * r * r) if (w1 >> 14) % 7 else 20 + (w1 >> 17) % 40  # some are Shorts
    thumbs = _THUMBS[(w1 >> 23) % 10]
    tags = TAGS[(w0 >> 20) % 1024]
    made_for_kids = (w3 >> 6) % 33 == 0
    likes_hidden = (w3 >> 18) % 33 == 0
    comments_disabled = made_for_kids or (w3 >> 12) % 33 == 0
    status, upload_status, reason, region, privacy = "available", "processed", None, None, "public"
    if availability is not None:
        kind = availability[0]
        if kind == "deleted":
            status = kind
        elif kind == "private":
            status = privacy = kind
        elif kind in ("rejected", "failed"):
            status = upload_status = kind
            reason = availability[1]
        elif kind in ("blocked", "allowed"):
            status, region = "region-blocked", (kind, availability[1])
    shape = (thumbs - 3 + 3 * bool(tags) + 6 * (not likes_hidden) + 12 * (not comments_disabled)
             + _UPLOAD_KIND[upload_status] + (0 if region is None else _REGION_KIND[region[0]]))
    return VideoState(
        video_id, i, channel_id, channel_title, published_ts, title, description, _duration(secs), views, likes,
        comments, status, tags, CATEGORIES[w2 % 14], thumbs, "hd" if (w2 >> 4) % 20 < 17 else "sd",
        "true" if (w2 >> 9) % 4 == 0 else "false", (w2 >> 11) % 10 < 3, region, upload_status, reason, privacy,
        "creativeCommon" if (w2 >> 15) % 33 == 0 else "youtube", (w2 >> 21) % 25 != 0, w3 % 50 != 0,
        made_for_kids, likes_hidden, comments_disabled, (tv, dv, revision), shape,
    )
