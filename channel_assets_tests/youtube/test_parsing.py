import copy
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channel_assets.youtube import TransientError, parse_channel_list, parse_playlist_page, parse_video_list
from channel_assets.youtube.parsing import MAX_TAGS, ItemError, _tags, parse_duration, parse_rfc3339

from .conftest import CH1, CH2, channel_item, fixture_json

SNIPPET_ONLY = ("snippet",)


def ids_in(payload):
    return [item["id"] for item in payload.get("items", [])]


@pytest.mark.parametrize("name,parts", [
    ("apidata__channel_info_multi.json", SNIPPET_ONLY),
    ("apidata__channel_info_single.json", ("snippet", "statistics")),
    ("apidata__channels__info.json", SNIPPET_ONLY),
    ("apidata__channels__info_multiple.json", ("snippet", "statistics", "contentDetails")),
])
def test_recorded_channels_parse(name, parts):
    payload = fixture_json(name)
    batch = parse_channel_list(payload, ids_in(payload), parts)
    assert set(batch.found) == set(ids_in(payload)) and not batch.invalid and not batch.missing
    for record in batch.found.values():
        assert record.title and record.published_at.tzinfo is UTC
        assert record.thumbnail_url.startswith("https://")


def test_recorded_channel_values():
    payload = fixture_json("apidata__channels__info_multiple.json")
    google = parse_channel_list(payload, [CH2, CH1]).found[CH2]
    assert google.subscriber_count == 10_700_000 and google.view_count == 3_331_930_783
    assert google.video_count == 2678 and google.hidden_subscriber_count is False
    assert google.uploads_playlist_id == "UUK8sQmJBp8GCxrOtXWBpyEA"
    assert google.custom_url == "@google" and google.country is None
    assert google.published_at == datetime(2005, 9, 18, 22, 37, 10, tzinfo=UTC)
    assert google.etag == "BSP3hQtvSS6Eo9sg31jocVuV4mg"
    high = payload["items"][0]["snippet"]["thumbnails"]["high"]["url"]
    assert google.thumbnail_url == high


def test_snippet_only_fixture_is_invalid_when_statistics_were_requested():
    payload = fixture_json("apidata__channel_info_multi.json")
    batch = parse_channel_list(payload, ids_in(payload))
    assert not batch.found and set(batch.invalid) == set(ids_in(payload))
    assert all("missing statistics" in reason for reason in batch.invalid.values())


def test_recorded_terminated_channel_is_missing():
    payload = fixture_json("channel_terminated_single_id__from_issue_reports.json")
    batch = parse_channel_list(payload, [CH1])
    assert batch.missing == [CH1] and not batch.found and not batch.invalid


@pytest.mark.parametrize("name,parts", [
    ("apidata__videos__videos_info_multi.json", SNIPPET_ONLY),
    ("apidata__videos__videos_info_single.json", SNIPPET_ONLY),
    ("modeldata__videos__video_api_response.json", ("snippet", "contentDetails", "statistics")),
])
def test_recorded_videos_parse(name, parts):
    payload = fixture_json(name)
    batch = parse_video_list(payload, ids_in(payload), parts)
    assert set(batch.found) == set(ids_in(payload)) and not batch.invalid


def test_recorded_video_values():
    video = parse_video_list(fixture_json("modeldata__videos__video_api_response.json"), ["D-lhorsDlUQ"]).found[
        "D-lhorsDlUQ"]
    assert (video.duration_seconds, video.view_count, video.channel_id) == (21 * 60 + 7, 7920, CH1)


@pytest.mark.parametrize("name,count,token", [
    ("apidata__playlist_items__playlist_items_multi.json", 2, None),
    ("apidata__playlist_items__playlist_items_paged_1.json", 10, "CAoQAA"),
    ("apidata__playlist_items__playlist_items_paged_2.json", 3, None),
])
def test_recorded_playlist_pages(name, count, token):
    page = parse_playlist_page(fixture_json(name))
    assert len(page.video_ids) == count and page.next_page_token == token
    assert set(page.published) == set(page.video_ids)


def test_empty_subscription_list_parses_to_nothing():
    assert parse_playlist_page(fixture_json("apidata__subscriptions__subscription_zero.json")).video_ids == []


def test_hidden_subscriber_count_without_count():
    item = channel_item(CH1, statistics={"hiddenSubscriberCount": True, "videoCount": "1", "viewCount": "5"})
    record = parse_channel_list({"items": [item]}, [CH1]).found[CH1]
    assert record.hidden_subscriber_count is True and record.subscriber_count is None


@pytest.mark.parametrize("stats,reason", [
    ({"subscriberCount": "-1"}, "subscriberCount"),
    ({"viewCount": "12abc"}, "viewCount"),
    ({"videoCount": "1.5"}, "videoCount"),
    ({"viewCount": True}, "viewCount"),
    ({"viewCount": str(2**64)}, "out of range"),
    ({"hiddenSubscriberCount": "yes"}, "hiddenSubscriberCount"),
])
def test_bad_counts_make_item_invalid(stats, reason):
    item = channel_item(CH1, statistics=stats)
    batch = parse_channel_list({"items": [item, channel_item(CH2)]}, [CH1, CH2])
    assert reason in batch.invalid[CH1] and CH2 in batch.found and not batch.missing


@pytest.mark.parametrize("mutate,reason", [
    (lambda it: it["snippet"].pop("title"), "missing title"),
    (lambda it: it.pop("statistics"), "missing statistics"),
    (lambda it: it.pop("contentDetails"), "missing contentDetails"),
    (lambda it: it["snippet"].update(title=5), "title is not a string"),
    (lambda it: it["snippet"].update(publishedAt="yesterday"), "bad timestamp"),
    (lambda it: it.update(snippet=[]), "snippet is not an object"),
])
def test_invalid_items_counted_not_applied(mutate, reason):
    item = channel_item(CH1)
    mutate(item)
    batch = parse_channel_list({"items": [item]}, [CH1])
    assert CH1 in batch.invalid and reason in batch.invalid[CH1] and not batch.found


def test_item_without_id_prevents_missing_verdict():
    item = channel_item(CH1)
    del item["id"]
    batch = parse_channel_list({"items": [item, channel_item(CH2)]}, [CH1, CH2])
    assert CH2 in batch.found and not batch.missing and "without an id" in batch.invalid[CH1]


def test_further_page_prevents_missing_verdict():
    batch = parse_channel_list({"items": [channel_item(CH2)], "nextPageToken": "x"}, [CH1, CH2])
    assert not batch.missing and CH1 in batch.invalid


def test_unrequested_and_duplicate_items_ignored():
    other = "UC" + "a" * 22
    batch = parse_channel_list({"items": [channel_item(other), channel_item(CH1),
                                          channel_item(CH1, snippet={"title": "second"})]}, [CH1])
    assert list(batch.found) == [CH1] and batch.found[CH1].title == "T"


def test_nul_characters_stripped():
    item = channel_item(CH1)
    item["snippet"].update(title="a\x00b", description="\x00d\x00", customUrl="@x\x00")
    record = parse_channel_list({"items": [item]}, [CH1]).found[CH1]
    assert (record.title, record.description, record.custom_url) == ("ab", "d", "@x")


def test_thumbnail_preference():
    item = channel_item(CH1)
    assert parse_channel_list({"items": [item]}, [CH1]).found[CH1].thumbnail_url == "https://h"
    item["snippet"]["thumbnails"] = {"default": {"url": "https://d"}, "medium": {"url": "https://m"}}
    assert parse_channel_list({"items": [item]}, [CH1]).found[CH1].thumbnail_url == "https://m"
    item["snippet"]["thumbnails"] = "garbage"
    assert parse_channel_list({"items": [item]}, [CH1]).found[CH1].thumbnail_url is None


@pytest.mark.parametrize("text,expected", [
    ("2020-01-02T03:04:05Z", datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("2020-01-02T03:04:05.123Z", datetime(2020, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)),
    ("2020-01-02T03:04:05.123456789Z", datetime(2020, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)),
    ("2020-01-02T05:04:05+02:00", datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)),
])
def test_rfc3339(text, expected):
    assert parse_rfc3339(text) == expected


@pytest.mark.parametrize("text", ["2020-01-02", "2020-01-02T03:04:05", "2020-13-02T03:04:05Z", "", None, 5])
def test_rfc3339_rejects(text):
    with pytest.raises(ItemError):
        parse_rfc3339(text)


@pytest.mark.parametrize("text,seconds", [
    ("PT1H2M3S", 3723), ("PT21M7S", 1267), ("P1DT2H", 93600), ("P0D", 0), ("PT45S", 45), ("P1W", 604800),
    ("PT1.5S", 1),
])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["P", "PT", "1H", "PT1X", "P1Y", "", None, "PT-1S", ["PT1S"]])
def test_bad_durations(text):
    for _ in range(2):  # durations are cached: a refusal never is
        with pytest.raises(ItemError):
            parse_duration(text)


@pytest.mark.parametrize("tags,expected", [
    (None, None), ([], ()), (["a", "b c"], ("a", "b c")), (["nul\x00led", "ok"], ("nulled", "ok")),
    (["x"] * MAX_TAGS, ("x",) * MAX_TAGS),
])
def test_tags(tags, expected):
    assert _tags({} if tags is None else {"tags": tags}) == expected


@pytest.mark.parametrize("tags", ["a,b", ["a", 1], ["a", None], [["a"]], {"a": 1}, ["x"] * (MAX_TAGS + 1)])
def test_bad_tags(tags):
    with pytest.raises(ItemError):
        _tags({"tags": tags})


@pytest.mark.parametrize("payload", [[], "x", {"items": {}}, {"items": "abc"}, None])
def test_malformed_top_level_is_transient(payload):
    with pytest.raises(TransientError):
        parse_channel_list(payload, [CH1])


# -- properties ------------------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


def json_paths(node, prefix=()):
    """Every key/index path in a JSON document, the root included (for mutation strategies)."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from json_paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from json_paths(value, (*prefix, index))


@st.composite
def mutated_channels(draw):
    payload = copy.deepcopy(fixture_json("apidata__channels__info_multiple.json"))
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in json_paths(payload) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = payload
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return payload


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_channels())
def test_mutated_channel_json_never_crashes(payload):
    requested = [CH1, CH2]
    try:
        batch = parse_channel_list(payload, requested)
    except TransientError:
        assert not isinstance(payload, dict) or not isinstance(payload.get("items", []), list)
        return
    buckets = [set(batch.found), set(batch.missing), set(batch.invalid)]
    assert set().union(*buckets) == set(requested)
    assert sum(len(b) for b in buckets) == len(requested)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["subscriberCount", "videoCount", "viewCount", "hiddenSubscriberCount"]),
                       json_values))
def test_arbitrary_statistics_are_found_or_invalid(stats):
    batch = parse_channel_list({"items": [channel_item(CH1, statistics=stats)]}, [CH1])
    assert (CH1 in batch.found) != (CH1 in batch.invalid)
    if CH1 in batch.found:
        record = batch.found[CH1]
        for value in (record.subscriber_count, record.video_count, record.view_count):
            assert value is None or (type(value) is int and 0 <= value < 2**63)
