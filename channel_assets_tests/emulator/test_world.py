from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime

from channel_assets.emulator.world import World, abbreviate_subscribers, channel_ids

ID_RE = re.compile(r"^UC[A-Za-z0-9_-]{22}$")


def test_ids_are_deterministic_valid_and_decodable() -> None:
    ids = channel_ids(1000, seed=5)
    assert ids == channel_ids(1000, seed=5)
    assert ids != channel_ids(1000, seed=6)
    assert len(set(ids)) == 1000 and all(ID_RE.match(i) for i in ids)
    w = World(1000, seed=5)
    assert [w.channel_index(i) for i in ids] == list(range(1000))
    assert w.channel_id(17) == ids[17]
    assert World(1000, seed=6).channel_index(ids[3]) is None  # another world's id
    assert World(10, seed=5).channel_index(ids[500]) is None  # beyond this world's size
    assert w.channel_index("UC" + "A" * 22) is None
    assert w.channel_index(ids[1][:-1] + "B") is None  # non-canonical last character
    assert w.channel_index("UU" + ids[2][2:]) == 2  # uploads playlist maps back


def test_huge_world_is_instant_and_lazy() -> None:
    w = World(5_000_000, seed=1)
    c = w.channel(4_999_999)
    assert c.id == w.channel_id(4_999_999) and c.status in ("active", "deleted", "terminated", "private")


def test_same_seed_same_world() -> None:
    a, b = World(50, seed=9), World(50, seed=9)
    a.advance(days=40)
    b.advance(days=40)
    assert [a.channel(i) for i in range(50)] == [b.channel(i) for i in range(50)]
    assert a.uploads(3, 0, 20) == b.uploads(3, 0, 20)


def test_subscriber_abbreviation() -> None:
    assert abbreviate_subscribers(999) == 999
    assert abbreviate_subscribers(10_789_123) == 10_700_000
    assert abbreviate_subscribers(2_269_999) == 2_260_000


def test_world_drifts_over_simulated_days() -> None:
    w = World(2000, seed=2)
    before = [w.channel(i) for i in range(2000)]
    assert all(c.status == "active" for c in before)
    w.advance(days=30)
    after = [w.channel(i) for i in range(2000)]
    statuses = Counter(c.status for c in after)
    assert 0.02 < 1 - statuses["active"] / 2000 < 0.12  # ~0.2 %/day
    assert {"deleted", "terminated", "private"} <= set(statuses)
    assert sum(a.video_count > b.video_count for a, b in zip(after, before, strict=True)) > 500
    assert sum(a.view_count != b.view_count for a, b in zip(after, before, strict=True)) > 1900
    assert 10 < sum(a.title != b.title for a, b in zip(after, before, strict=True)) < 400
    dormant = [c for c in before if c.video_count and w.uploads(c.index, 0, 1, w.start.timestamp())[0][1]
               < w.start.timestamp() - 180 * 86400]
    assert dormant, "some channels have not uploaded for six months"
    gone = [c.index for c in after if c.status != "active"]
    w.advance(days=30)
    assert all(w.status(i) != "active" for i in gone)  # never undeleted


def test_uploads_newest_first_and_paged_consistently() -> None:
    w = World(100, seed=4)
    i = max(range(100), key=w.upload_count)
    n = w.upload_count(i)
    everything = w.uploads(i, 0, n + 10)
    assert len(everything) == n <= 500
    times = [ts for _, ts in everything]
    assert times == sorted(times, reverse=True) and times[0] <= w.now_ts
    assert w.uploads(i, 10, 5) == everything[10:15]
    vid, ts = everything[0]
    v = w.video(vid)
    assert v is not None and v.channel_id == w.channel_id(i) and v.published_ts == ts
    assert re.match(r"^PT(\d+H)?(\d+M)?(\d+S)?$", v.duration)
    assert w.video("AAAAAAAAAAA") is None


def test_overrides() -> None:
    w = World(10, seed=1)
    cid = w.channel_id(3)
    w.set_status(cid, "terminated")
    assert w.channel(3).status == "terminated"
    w.set_status(3, "active")
    w.set_title(3, "Renamed ✨")
    assert w.channel(3).title == "Renamed ✨"
    before = w.upload_count(3)
    vid = w.add_upload(3, title="Fresh")
    assert w.upload_count(3) == before + 1 and w.uploads(3, 0, 1)[0][0] == vid
    assert w.video(vid).title == "Fresh"
    future = w.add_upload(3, published=datetime(2027, 1, 1, tzinfo=UTC))
    assert w.video(future) is None  # not yet published at the clock
    w.now = datetime(2027, 1, 2, tzinfo=UTC)
    w.set_status(3, "active")
    assert w.video(future) is not None
