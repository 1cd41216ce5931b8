"""The world's videos: deterministic, counts that grow, text that changes, and videos that go (and some return)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections import Counter
from datetime import timedelta

import pytest

from channel_assets.emulator.videos import FAILURE_REASONS, REJECTION_REASONS
from channel_assets.emulator.world import World

CHANNELS = 400


def _all_videos(w: World) -> list[str]:
    """Every video published at the world's start (none is unavailable yet then)."""
    return [vid for i in range(w.channels) for vid, _ in w.uploads(i, 0, 1000)]


@pytest.fixture(scope="module")
def history() -> tuple[list[str], dict[int, list]]:
    """The states of one world's videos at the start and after 1, 3, 10, 30 and 60 days."""
    w = World(CHANNELS, seed=21)
    vids = _all_videos(w)
    out = {}
    for day in (0, 1, 3, 10, 30, 60):
        w.now = w.start + timedelta(days=day)
        out[day] = [w.video(v) for v in vids]
    return vids, out


def test_a_world_has_many_videos_all_available_at_the_start(history) -> None:
    vids, states = history
    assert len(vids) > 20_000 and len(set(vids)) == len(vids)
    assert {s.status for s in states[0]} == {"available"}


def test_same_seed_same_videos_other_seed_other_videos() -> None:
    a, b, c = World(50, seed=4), World(50, seed=4), World(50, seed=5)
    for w in (a, b, c):
        w.advance(days=12.5)
    vids = [vid for i in range(50) for vid, _ in a.uploads(i, 0, 40)]
    assert [a.video_truth(v) for v in vids] == [b.video_truth(v) for v in vids]
    assert a.video_states(vids) == [b.video(v) for v in vids]
    assert all(c.video_truth(v)["status"] == "not-found" for v in vids)  # another seed's ids do not decode


def test_the_world_is_the_same_in_another_process_with_another_hash_seed() -> None:
    """The emulator runs as a subprocess in benchmarks: nothing may depend on str hashing or set order."""
    script = ("import json, sys; from channel_assets.emulator.world import World; w = World(30, seed=8); "
              "w.advance(days=40); vids = [v for i in range(30) for v, _ in w.uploads(i, 0, 30)]; "
              "print(json.dumps([w.video_truth(v) for v in vids]))")
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")]
    assert runs[0] == runs[1] and len(json.loads(runs[0])) > 100


def test_counts_grow_day_by_day_with_ratios_that_differ_per_video_and_drift(history) -> None:
    vids, states = history
    pairs = [(a, b) for a, b in zip(states[1], states[3], strict=True) if b is not None and b.listed]
    assert all(b.view_count >= a.view_count and b.like_count >= a.like_count and b.comment_count >= a.comment_count
               for a, b in pairs)
    assert sum(b.view_count > a.view_count for a, b in pairs) > 0.9 * len(pairs)
    busy = [(a, b) for a, b in pairs if a.view_count > 1000 and a.like_count > 20]
    ratios = [a.like_count / a.view_count for a, _ in busy]
    assert statistics.pstdev(ratios) > 0.2 * statistics.mean(ratios)  # not one fixed like/view ratio
    aged = [(a, b) for a, b in zip(states[1], states[60], strict=True)
            if b is not None and b.listed and a.view_count > 1000 and a.like_count > 20]
    drift = [abs(b.like_count / b.view_count * a.view_count / a.like_count - 1) for a, b in aged]
    assert sum(d > 0.002 for d in drift) > 0.5 * len(aged)  # and a video's own ratio moves as it ages
    assert len({a.comment_count * 1000 // max(1, a.view_count) for a, _ in busy}) > 5


def test_titles_and_descriptions_change_at_moments_of_their_own(history) -> None:
    vids, states = history
    alive = [(a, b) for a, b in zip(states[0], states[30], strict=True) if b is not None]
    titles = sum(a.title != b.title for a, b in alive)
    descriptions = sum(a.description != b.description for a, b in alive)
    assert 0.02 * len(alive) < titles < 0.2 * len(alive)  # ~0.3 %/day
    assert 0.01 * len(alive) < descriptions < 0.15 * len(alive)  # ~0.2 %/day
    both = sum(a.title != b.title and a.description != b.description for a, b in alive)
    assert both < min(titles, descriptions)  # independent: title and/or description
    w = World(CHANNELS, seed=21)
    changed = next(a.id for a, b in alive if a.title != b.title and a.description == b.description)
    w.now = w.start + timedelta(days=30)
    assert w.video(changed).title != states[0][vids.index(changed)].title
    w.now = w.start  # the clock may go back: what it shows is a function of the clock
    assert w.video(changed).title == states[0][vids.index(changed)].title


def test_each_kind_of_unavailability_appears_at_a_small_daily_rate(history) -> None:
    vids, states = history
    for day in (1, 3, 10):
        counts = Counter(s.status for s in states[day] if s is not None)
        gone = len(vids) - counts["available"]
        assert 0.0005 * day * len(vids) < gone < 0.003 * day * len(vids), (day, counts)
    later = [s for s in states[30] if s is not None]
    kinds = Counter(s.status for s in later)
    assert all(kinds[k] > 5 for k in ("deleted", "private", "rejected", "failed", "region-blocked")), kinds
    for s in later:
        assert s.listed == (s.status not in ("deleted", "private"))
        if s.status == "rejected":
            assert s.upload_status == "rejected" and s.upload_reason in REJECTION_REASONS
        elif s.status == "failed":
            assert s.upload_status == "failed" and s.upload_reason in FAILURE_REASONS
        else:
            assert s.upload_status == "processed" and s.upload_reason is None
        if s.status == "region-blocked":
            kind, codes = s.region_restriction
            assert kind in ("blocked", "allowed") and codes and all(len(c) == 2 for c in codes)
        else:
            assert s.region_restriction is None
        assert s.privacy_status == ("private" if s.status == "private" else "public")
    assert {s.region_restriction[0] for s in later if s.region_restriction} == {"blocked", "allowed"}


def test_deleted_stays_deleted_and_some_private_videos_come_back(history) -> None:
    vids, states = history
    for day, later in ((10, 30), (30, 60)):
        pairs = [(a, b) for a, b in zip(states[day], states[later], strict=True) if a is not None and b is not None]
        assert all(b.status == a.status for a, b in pairs if a.status in ("deleted", "rejected", "failed"))
    back = [(a, b) for a, b in zip(states[10], states[60], strict=True)
            if a is not None and b is not None and a.status == "private" and b.status == "available"]
    assert back, "no private video came back"
    assert all(b.title == a.title or b.revision[0] > a.revision[0] for a, b in back)


def test_uploads_playlist_and_video_count_leave_deleted_and_private_out() -> None:
    w = World(CHANNELS, seed=21)
    w.advance(days=30)
    checked = 0
    for i in range(CHANNELS):
        if w.status(i) != "active":
            continue
        listed = [vid for vid, _ in w.uploads(i, 0, 1000)]
        c = w.channel(i)
        assert len(listed) == c.video_count == w.channel_now(i).video_count == w.upload_count(i)
        assert all(w.video(v).listed for v in listed)
        assert w.uploads(i, 3, 5) == w.uploads(i, 0, 1000)[3:8]
        checked += 1
    assert checked > 300
    gone = next(s for s in (w.video(v) for v in _all_videos(World(CHANNELS, seed=21))) if s and not s.listed)
    assert gone.id not in [vid for vid, _ in w.uploads(gone.channel_index, 0, 1000)]


def test_a_gone_channel_hides_all_its_videos() -> None:
    w = World(20, seed=3)
    i = max(range(20), key=w.upload_count)
    vids = [vid for vid, _ in w.uploads(i, 0, 50)]
    w.set_status(i, "terminated")
    assert all(w.video(v) is None for v in vids)
    assert {w.video_truth(v)["status"] for v in vids} == {"channel-gone"}
    w.set_status(i, "active")
    assert all(w.video(v).listed for v in vids)


def test_overrides_of_one_video() -> None:
    w = World(20, seed=3)
    i = max(range(20), key=w.upload_count)
    vid, other = (v for v, _ in w.uploads(i, 0, 2))
    count = w.channel(i).video_count
    for status, want in (("deleted", "deleted"), ("private", "private"), ("rejected:claim", "rejected"),
                         ("failed", "failed"), ("blocked:DE,FR", "region-blocked"), ("allowed:US", "region-blocked"),
                         ("public", "available")):
        w.set_video_status(vid, status)
        s = w.video(vid)
        assert s.status == want and w.video_truth(vid)["status"] == want
        assert w.channel(i).video_count == count - (want in ("deleted", "private"))
        assert (vid in [v for v, _ in w.uploads(i, 0, 1000)]) == s.listed
    assert w.video_truth(vid)["regionRestriction"] is None
    w.set_video_status(vid, "blocked:DE,FR")
    assert w.video_truth(vid)["regionRestriction"] == {"blocked": ["DE", "FR"]}
    w.set_video_status(vid, "rejected:claim")
    assert (w.video_truth(vid)["uploadStatus"], w.video_truth(vid)["rejectionReason"]) == ("rejected", "claim")
    before = w.video(other)
    w.set_video_title(other, 'New "title" ✨')
    w.set_video_description(other, "")
    after = w.video(other)
    assert (after.title, after.description) == ('New "title" ✨', "") and after.revision != before.revision
    for bad in ("gone", "rejected:nope", "blocked:", "blocked:de", "failed:x", "private:x"):
        with pytest.raises(ValueError):
            w.set_video_status(vid, bad)
    with pytest.raises(KeyError):
        w.set_video_status("AAAAAAAAAAA", "deleted")
    upload = w.add_upload(i, title="Explicit")
    w.set_video_status(upload, "private")
    assert w.video(upload).status == "private" and w.channel(i).video_count == count  # one more, one hidden


def test_truth_is_what_the_answer_says(history) -> None:
    w = World(CHANNELS, seed=21)
    w.advance(days=30)
    vids, _ = history
    truths = [w.video_truth(v) for v in vids[:3000]]
    assert {t["status"] for t in truths} >= {"available", "channel-gone"}
    for t in truths:
        s = w.video(t["id"])
        assert t["listed"] == (s is not None and s.listed)
        if t["listed"]:
            assert (t["title"], t["viewCount"], t["duration"]) == (s.title, s.view_count, s.duration)
            assert t["likeCount"] == (None if s.likes_hidden else s.like_count)
            assert t["commentCount"] == (None if s.comments_disabled else s.comment_count)
            assert len(t["thumbnails"]) == s.thumbnails and t["tags"] == list(s.tags)
    assert w.video_truth("AAAAAAAAAAA") == {"id": "AAAAAAAAAAA", "status": "not-found", "listed": False,
                                            "channelId": None}
