"""`channel-assets alerts test`: one line per channel, sent or failed, secrets never printed."""

from channel_assets.cli.main import main

from .conftest import SMTP_PASSWORD, SMTP_USER


def test_sends_on_every_channel_and_says_which_failed(monkeypatch, capsys, http_receiver, smtp_server):
    mailbox, port = smtp_server
    for name, value in {"WEBHOOK_URL": f"{http_receiver.url}/hook/cli-secret", "SMTP_HOST": "127.0.0.1",
                        "SMTP_PORT": str(port), "SMTP_STARTTLS": "false", "SMTP_USER": SMTP_USER,
                        "SMTP_PASSWORD": "not-" + SMTP_PASSWORD, "SMTP_FROM": "a@example.org",
                        "SMTP_TO": "ops@example.org"}.items():
        monkeypatch.setenv(f"CHANNEL_ASSETS_ALERTS_{name}", value)
    assert main(["alerts", "test"]) == 1
    out = capsys.readouterr().out
    assert "webhook: sent" in out and "email: failed: SMTPAuthenticationError" in out
    assert "cli-secret" not in out and SMTP_PASSWORD not in out
    assert [r["json"]["title"] for r in http_receiver.received] == ["channel_assets: test alert"]
    assert mailbox.messages == []


def test_no_channel_is_a_one_line_user_error(monkeypatch, capsys):
    for name in ("WEBHOOK_URL", "SMTP_HOST", "SLACK_TOKEN", "SLACK_WEBHOOK_URL"):
        monkeypatch.delenv(f"CHANNEL_ASSETS_ALERTS_{name}", raising=False)
    assert main(["alerts", "test"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("channel-assets: error: no alert channel configured") and "\n" not in err
