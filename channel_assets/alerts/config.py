"""Alert settings from the environment (documented in channel_assets.settings.VARIABLES)."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass

from channel_assets.alerts.notifiers import Email, Notifier, SlackApi, SlackWebhook, Webhook
from channel_assets.settings import SettingsError, _bool, _http_url, _int

P = "CHANNEL_ASSETS_ALERTS_"


@dataclass(frozen=True)
class AlertConfig:
    ui_url: str
    notifiers: tuple[Notifier, ...] = ()
    silence: tuple[str, ...] = ()
    digest_hour: int = 7

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.notifiers)

    def silenced(self, condition: str) -> bool:
        return any(fnmatch.fnmatchcase(condition, pattern) for pattern in self.silence)

    def notifier(self, name: str) -> Notifier | None:
        return next((n for n in self.notifiers if n.name == name), None)

    def __repr__(self) -> str:  # the notifiers hold secrets
        return f"AlertConfig(channels={self.channels}, silence={self.silence}, digest_hour={self.digest_hour})"


def _get(env: Mapping[str, str], name: str) -> str:
    return env.get(P + name, "").strip()


def _secret_url(env: Mapping[str, str], name: str) -> str:
    """Like settings' URL check, but the error never repeats the value (it may carry a token)."""
    try:
        return _http_url(env, P + name, "")
    except SettingsError:
        raise SettingsError(f"{P}{name} must be an http(s) URL (value not shown: it is a secret)") from None


def _notifiers(env: Mapping[str, str]) -> list[Notifier]:
    found: list[Notifier] = []
    token, channel = _get(env, "SLACK_TOKEN"), _get(env, "SLACK_CHANNEL")
    if token:
        if not channel:
            raise SettingsError(f"{P}SLACK_CHANNEL must be set when {P}SLACK_TOKEN is")
        found.append(SlackApi(token, channel, _http_url(env, P + "SLACK_API_URL", "https://slack.com/api")))
    elif _get(env, "SLACK_WEBHOOK_URL"):
        found.append(SlackWebhook(_secret_url(env, "SLACK_WEBHOOK_URL")))
    if _get(env, "SMTP_HOST"):
        sender, to = _get(env, "SMTP_FROM"), [a.strip() for a in _get(env, "SMTP_TO").split(",") if a.strip()]
        if not sender or not to:
            raise SettingsError(f"{P}SMTP_FROM and {P}SMTP_TO must be set when {P}SMTP_HOST is")
        found.append(Email(_get(env, "SMTP_HOST"), _int(env, P + "SMTP_PORT", 587, minimum=1), sender, to,
                           starttls=_bool(env, P + "SMTP_STARTTLS", True), user=_get(env, "SMTP_USER"),
                           password=env.get(P + "SMTP_PASSWORD", "")))
    if _get(env, "WEBHOOK_URL"):
        found.append(Webhook(_secret_url(env, "WEBHOOK_URL")))
    return found


def load_alert_config(env: Mapping[str, str] | None = None) -> AlertConfig:
    """Raises SettingsError (one line, naming the variable) on a wrong value; never echoes a secret."""
    env = os.environ if env is None else env
    hour = _int(env, P + "DIGEST_HOUR", 7)
    if hour > 23:
        raise SettingsError(f"{P}DIGEST_HOUR must be an hour 0-23, got {hour}")
    return AlertConfig(
        ui_url=_http_url(env, "CHANNEL_ASSETS_UI_URL", "http://127.0.0.1:3000"),
        notifiers=tuple(_notifiers(env)),
        silence=tuple(s.strip() for s in _get(env, "SILENCE").split(",") if s.strip()),
        digest_hour=hour,
    )
