"""The `alert_channels` resource: each field one alert setting (a `dg.EnvVar` when set, so the UI shows
variable names, never secrets), turned into an AlertConfig by the one settings parser."""

from __future__ import annotations

import dagster as dg

from channel_assets.alerts.config import AlertConfig, alert_config
from channel_assets.defs.resources import from_environment, read_field, setting_field


class AlertChannels(dg.ConfigurableResource):
    """Where alerts go (Slack, email, webhook), what is silenced and when the digest is sent."""

    ui_url: str = setting_field("ui_url")
    slack_token: str = setting_field("slack_token")
    slack_channel: str = setting_field("slack_channel")
    slack_api_url: str = setting_field("slack_api_url")
    slack_webhook_url: str = setting_field("slack_webhook_url")
    smtp_host: str = setting_field("smtp_host")
    smtp_port: int = setting_field("smtp_port")
    smtp_starttls: str = setting_field("smtp_starttls")
    smtp_user: str = setting_field("smtp_user")
    smtp_password: str = setting_field("smtp_password")
    smtp_from: str = setting_field("smtp_from")
    smtp_to: str = setting_field("smtp_to")
    webhook_url: str = setting_field("webhook_url")
    silence: str = setting_field("silence")
    digest_hour: int = setting_field("digest_hour")

    def config(self) -> AlertConfig:
        return alert_config({name: read_field(self, name) for name in type(self).model_fields})


def build_alert_channels() -> AlertChannels:
    return from_environment(AlertChannels)
