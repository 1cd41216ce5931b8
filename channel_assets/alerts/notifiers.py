"""Senders for Slack, email and a generic webhook: plain Python, no Dagster, no database.

Every failure becomes a SendError whose text has the channel's secrets (token, webhook URL,
password) masked, because these texts end up in logs, the outbox and the UI.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage

import httpx

from channel_assets.youtube.redaction import install_log_redaction, one_line, register_secret

TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Message:
    """One alert as a human reads it; `condition` names what it is about (and what silences it)."""

    condition: str
    severity: str  # "error", "warning", "info" or "resolved"
    title: str
    text: str
    link: str | None = None

    def plain(self) -> str:
        return f"{self.text}\n\n{self.link}" if self.link else self.text


class SendError(RuntimeError):
    """A message did not arrive; the text is one line with the channel's secrets masked."""


def _secret_safe(secrets: Iterable[str]) -> tuple[str, ...]:
    """Secrets also masked in httpx's own log lines (which carry the URL)."""
    kept = tuple(s for s in secrets if s)
    for secret in kept:
        register_secret(secret)
    install_log_redaction()
    return kept


class _Notifier:
    name = "notifier"
    secrets: tuple[str, ...] = ()

    def send(self, message: Message) -> None:
        try:
            self._send(message)
        except SendError:
            raise
        except Exception as exc:  # any transport error: the caller keeps the message for a retry
            raise SendError(self._clean(f"{type(exc).__name__}: {exc}")) from None

    def _send(self, message: Message) -> None:
        raise NotImplementedError

    def _clean(self, text: str) -> str:
        return one_line(text, secrets=self.secrets)

    def _post(self, url: str, **kwargs) -> httpx.Response:
        response = httpx.post(url, timeout=TIMEOUT_S, **kwargs)
        if response.status_code >= 300:
            raise SendError(self._clean(f"{self.name} answered HTTP {response.status_code}: {response.text[:200]}"))
        return response


class SlackApi(_Notifier):
    """chat.postMessage with a bot token."""

    name = "slack"

    def __init__(self, token: str, channel: str, api_url: str = "https://slack.com/api") -> None:
        self.token, self.channel, self.api_url = token, channel, api_url.rstrip("/")
        self.secrets = _secret_safe([token])

    def _send(self, message: Message) -> None:
        response = self._post(f"{self.api_url}/chat.postMessage",
                              headers={"Authorization": f"Bearer {self.token}"},
                              json={"channel": self.channel, "text": slack_text(message)})
        body = response.json()
        if not body.get("ok"):  # Slack answers 200 with ok=false for a bad token or channel
            raise SendError(self._clean(f"slack refused the message: {body.get('error', 'unknown error')}"))


class SlackWebhook(_Notifier):
    """A Slack incoming webhook; the URL itself is the secret."""

    name = "slack"

    def __init__(self, url: str) -> None:
        self.url = url
        self.secrets = _secret_safe([url])

    def _send(self, message: Message) -> None:
        self._post(self.url, json={"text": slack_text(message)})


class Webhook(_Notifier):
    """A generic JSON webhook; its URL may carry a token, so it is treated as a secret."""

    name = "webhook"

    def __init__(self, url: str) -> None:
        self.url = url
        self.secrets = _secret_safe([url])

    def _send(self, message: Message) -> None:
        self._post(self.url, json={"condition": message.condition, "severity": message.severity,
                                   "title": message.title, "text": message.text, "link": message.link})


class Email(_Notifier):
    """SMTP with optional STARTTLS and login (stdlib smtplib)."""

    name = "email"

    def __init__(self, host: str, port: int, sender: str, recipients: list[str], *, starttls: bool = True,
                 user: str = "", password: str = "") -> None:
        self.host, self.port, self.sender, self.recipients = host, port, sender, recipients
        self.starttls, self.user, self.password = starttls, user, password
        self.secrets = _secret_safe([password])

    def _send(self, message: Message) -> None:
        mail = EmailMessage()
        mail["Subject"] = message.title
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.recipients)
        mail.set_content(message.plain())
        with smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_S) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password)
            smtp.send_message(mail)


Notifier = SlackApi | SlackWebhook | Webhook | Email


def _slack_escape(text: str) -> str:
    """Slack reads <...> as links and mentions: error texts must not ping @channel."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(message: Message) -> str:
    link = f"\n<{message.link}|Open in Dagster>" if message.link else ""
    return f"*{_slack_escape(message.title)}*\n{_slack_escape(message.text)}{link}"
