"""Each sender against a real local receiver; failures become one-line errors without secrets."""

import logging
import socket

import pytest

from channel_assets.alerts.notifiers import Email, Message, SendError, SlackApi, SlackWebhook, Webhook

from .conftest import SMTP_PASSWORD, SMTP_USER

MESSAGE = Message("quota_75", "warning", "YouTube quota: 75% used", "6000 of 8000 units.", "http://ui/assets/x")
TOKEN = "xoxb-1234-secret-token-value"


def test_slack_api_posts_chat_post_message_with_the_bot_token(http_receiver):
    SlackApi(TOKEN, "#alerts", http_receiver.url).send(MESSAGE)
    [req] = http_receiver.received
    assert req["path"] == "/chat.postMessage"
    assert req["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert req["json"]["channel"] == "#alerts"
    assert "YouTube quota: 75% used" in req["json"]["text"] and "<http://ui/assets/x|" in req["json"]["text"]


def test_slack_text_cannot_mention_everyone(http_receiver):
    hostile = Message("run:x", "error", "Run failed", "error text from the API: <!channel> & <@U123>")
    SlackApi(TOKEN, "#alerts", http_receiver.url).send(hostile)
    text = http_receiver.received[0]["json"]["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp; &lt;@U123&gt;" in text


def test_slack_api_ok_false_is_a_failure_naming_slacks_error(http_receiver):
    http_receiver.reply = {"ok": False, "error": "channel_not_found"}
    with pytest.raises(SendError, match="channel_not_found"):
        SlackApi(TOKEN, "#nope", http_receiver.url).send(MESSAGE)


def test_slack_webhook_and_generic_webhook_post_json(http_receiver):
    SlackWebhook(f"{http_receiver.url}/services/T0/B0/hooksecret").send(MESSAGE)
    Webhook(f"{http_receiver.url}/hook?token=webhooksecret").send(MESSAGE)
    slack, generic = http_receiver.received
    assert slack["path"] == "/services/T0/B0/hooksecret" and "6000 of 8000" in slack["json"]["text"]
    assert generic["json"] == {"condition": "quota_75", "severity": "warning", "title": "YouTube quota: 75% used",
                               "text": "6000 of 8000 units.", "link": "http://ui/assets/x"}


def test_email_arrives_with_subject_and_link(smtp_server):
    mailbox, port = smtp_server
    Email("127.0.0.1", port, "alerts@example.org", ["ops@example.org", "oncall@example.org"], starttls=False,
          user=SMTP_USER, password=SMTP_PASSWORD).send(MESSAGE)
    [mail] = mailbox.messages
    assert mail["to"] == ["ops@example.org", "oncall@example.org"]
    assert "Subject: YouTube quota: 75% used" in mail["data"]
    assert "6000 of 8000 units." in mail["data"] and "http://ui/assets/x" in mail["data"]


def test_email_wrong_password_fails_without_showing_it(smtp_server, caplog):
    _, port = smtp_server
    wrong = "wrong-" + SMTP_PASSWORD
    with pytest.raises(SendError) as err:
        Email("127.0.0.1", port, "a@example.org", ["b@example.org"], starttls=False, user=SMTP_USER,
              password=wrong).send(MESSAGE)
    assert "535" in str(err.value) or "Authentication" in str(err.value)
    assert wrong not in str(err.value) and SMTP_PASSWORD not in caplog.text


def test_email_starttls_refused_by_the_server_is_a_failure(smtp_server):
    _, port = smtp_server
    with pytest.raises(SendError, match="STARTTLS"):
        Email("127.0.0.1", port, "a@example.org", ["b@example.org"], starttls=True).send(MESSAGE)


def test_receiver_errors_and_refusals_never_show_the_url_or_token(http_receiver, caplog):
    caplog.set_level(logging.DEBUG)
    http_receiver.status = 500
    url = f"{http_receiver.url}/hook/very-secret-path-token"
    with pytest.raises(SendError) as err:
        Webhook(url).send(MESSAGE)
    assert "HTTP 500" in str(err.value)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]  # nothing listens here once the socket closes
    refused = f"http://127.0.0.1:{closed}/services/T0/B0/refused-secret"
    with pytest.raises(SendError) as err2:
        SlackWebhook(refused).send(MESSAGE)
    assert "ConnectError" in str(err2.value)
    with pytest.raises(SendError) as err3:
        SlackApi(TOKEN, "#a", f"http://127.0.0.1:{closed}").send(MESSAGE)
    texts = str(err.value) + str(err2.value) + str(err3.value) + caplog.text
    for secret in ("very-secret-path-token", "refused-secret", TOKEN):
        assert secret not in texts
