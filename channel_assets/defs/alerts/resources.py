"""The `alert_channels` resource: each field a `dg.EnvVar`, so the UI shows variable names, never secrets."""

from __future__ import annotations

import os

import dagster as dg

from channel_assets.alerts.config import AlertConfig, P, load_alert_config
from channel_assets.defs.resources import env_or_none

_FIELDS = ("slack_token", "slack_channel", "slack_api_url", "slack_webhook_url", "smtp_host", "smtp_port",
           "smtp_starttls", "smtp_user", "smtp_password", "smtp_from", "smtp_to", "webhook_url", "silence",
           "digest_hour")


def _variable(field: str) -> str:
    return "CHANNEL_ASSETS_UI_URL" if field == "ui_url" else P + field.upper()


class AlertChannels(dg.ConfigurableResource):
    """Where alerts go (Slack, email, webhook); unset fields fall back to the environment."""

    ui_url: str | None = None
    slack_token: str | None = None
    slack_channel: str | None = None
    slack_api_url: str | None = None
    slack_webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: str | None = None
    smtp_starttls: str | None = None
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str | None = None
    smtp_to: str | None = None
    webhook_url: str | None = None
    silence: str | None = None
    digest_hour: str | None = None

    def config(self) -> AlertConfig:
        given = {_variable(f): getattr(self, f) for f in ("ui_url", *_FIELDS) if getattr(self, f) is not None}
        return load_alert_config({**os.environ, **given})


def build_alert_channels() -> AlertChannels:
    return AlertChannels(**{f: env_or_none(_variable(f)) for f in ("ui_url", *_FIELDS)})
