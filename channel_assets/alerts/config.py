"""Where alerts go and what is silenced, built from the alert settings (declared in channel_assets.settings)."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass

from channel_assets.alerts.notifiers import Email, Notifier, SlackApi, SlackWebhook, Webhook
from channel_assets.settings import SETTINGS, SettingsError, load_settings


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


def _required_with(given: str, needed: tuple[str, ...]) -> SettingsError:
    names = " and ".join(SETTINGS[n].variable for n in needed)
    return SettingsError(f"{names} must be set when {SETTINGS[given].variable} is")


def alert_config(values: Mapping[str, object]) -> AlertConfig:
    """The channels configured by the parsed alert settings (field name -> value); raises SettingsError
    (one line, naming the variable, never a secret) when a channel is half configured."""
    v = values
    found: list[Notifier] = []
    if v["slack_token"]:
        if not v["slack_channel"]:
            raise _required_with("slack_token", ("slack_channel",))
        found.append(SlackApi(v["slack_token"], v["slack_channel"], v["slack_api_url"]))
    elif v["slack_webhook_url"]:
        found.append(SlackWebhook(v["slack_webhook_url"]))
    if v["smtp_host"]:
        if not v["smtp_from"] or not v["smtp_to"]:
            raise _required_with("smtp_host", ("smtp_from", "smtp_to"))
        found.append(Email(v["smtp_host"], v["smtp_port"], v["smtp_from"], list(v["smtp_to"]),
                           starttls=v["smtp_starttls"], user=v["smtp_user"], password=v["smtp_password"]))
    if v["webhook_url"]:
        found.append(Webhook(v["webhook_url"]))
    return AlertConfig(ui_url=v["ui_url"], notifiers=tuple(found), silence=v["silence"], digest_hour=v["digest_hour"])


def load_alert_config(env: Mapping[str, str] | None = None) -> AlertConfig:
    """The alert config of the environment (or `env`), through the one settings parser."""
    return alert_config(vars(load_settings(env)))
