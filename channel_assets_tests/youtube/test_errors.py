import pickle

import pytest

from channel_assets.youtube import (
    ChannelForbidden,
    ConfigurationError,
    NotFound,
    QuotaExceeded,
    RateLimited,
    TransientError,
    YouTubeError,
    classify_error,
)

from .conftest import fixture_bytes


def body(status, reason, domain="youtube.api", message="msg"):
    import json
    return json.dumps({"error": {"code": status, "message": message,
                                 "errors": [{"message": message, "domain": domain, "reason": reason}]}})


@pytest.mark.parametrize("status,reason,domain,cls", [
    (403, "quotaExceeded", "youtube.quota", QuotaExceeded),
    (403, "rateLimitExceeded", "usageLimits", RateLimited),
    (429, "userRateLimitExceeded", "usageLimits", RateLimited),
    (403, "forbidden", "youtube.channel", ChannelForbidden),
    (403, "channelClosed", "youtube.channel", ChannelForbidden),
    (403, "channelSuspended", "youtube.channel", ChannelForbidden),
    (404, "channelNotFound", "youtube.channel", NotFound),
    (403, "channelNotFound", "youtube.channel", NotFound),
    (404, "playlistNotFound", "youtube.playlistItem", NotFound),
    (400, "keyInvalid", "usageLimits", ConfigurationError),
    (400, "badRequest", "global", ConfigurationError),
    (400, "invalidPageToken", "youtube.parameter", ConfigurationError),
    (500, "backendError", "global", TransientError),
    (503, "backendError", "global", TransientError),
    (503, "somethingNew", "global", TransientError),
])
def test_reasons(status, reason, domain, cls):
    error = classify_error(status, body(status, reason, domain))
    assert type(error) is cls
    assert error.reason == reason and error.status == status
    assert "\n" not in str(error)


def test_non_json_502_html_is_transient():
    error = classify_error(502, b"<html><body>\n<h1>502 Bad Gateway</h1>\n</body></html>")
    assert isinstance(error, TransientError) and error.status == 502 and "\n" not in str(error)


@pytest.mark.parametrize("status,text,cls", [
    (500, "", TransientError), (503, '{"error": {"code": 503', TransientError),
    (429, "slow down", RateLimited), (404, "", NotFound), (400, "[]", ConfigurationError),
    (403, '{"error": {"errors": 5}}', ConfigurationError),
])
def test_tolerant_of_odd_bodies(status, text, cls):
    assert type(classify_error(status, text)) is cls


def test_recorded_quota_exceeded():
    error = classify_error(403, fixture_bytes("quota_exceeded__from_issue_reports.json"))
    assert isinstance(error, QuotaExceeded) and error.reason == "quotaExceeded"
    assert "exceeded your" in str(error)


def test_recorded_key_invalid():
    error = classify_error(400, fixture_bytes("error_response.json"))
    assert isinstance(error, ConfigurationError) and error.reason == "keyInvalid"


def test_recorded_permission_denied_is_configuration():
    # 403 with status PERMISSION_DENIED: the caller (key/project) lacks access, not a channel problem.
    error = classify_error(403, fixture_bytes("apidata__error_permission_resp.json"))
    assert isinstance(error, ConfigurationError)
    assert "does not have permission" in str(error)


def test_recorded_simple_error_string_body():
    error = classify_error(400, fixture_bytes("error_response_simple.json"))
    assert isinstance(error, ConfigurationError) and "error message" in str(error)


def test_error_code_used_when_status_unknown():
    assert isinstance(classify_error(0, '{"error": {"code": 503, "message": "x"}}'), TransientError)


def test_grpc_status_used_without_reason():
    assert isinstance(classify_error(429, '{"error": {"status": "RESOURCE_EXHAUSTED"}}'), RateLimited)
    assert isinstance(classify_error(400, '{"error": {"status": "UNAVAILABLE"}}'), TransientError)


def test_errors_pickle_with_reason_and_status():
    error = pickle.loads(pickle.dumps(RateLimited("slow", reason="userRateLimitExceeded", status=429)))
    assert (type(error), error.reason, error.status) == (RateLimited, "userRateLimitExceeded", 429)
    assert isinstance(error, YouTubeError)


def test_message_is_one_line_and_bounded():
    error = TransientError("a\nb\r\n" + "x" * 1000)
    assert "\n" not in str(error) and len(str(error)) < 400
