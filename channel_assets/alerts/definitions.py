"""The alerts domain's Dagster definitions: the `alerts` asset the sensors report to, and the sensors."""

import dagster as dg

from channel_assets.alerts.resources import build_alert_channels
from channel_assets.alerts.sensors import ALERTS_ASSET, alerts_sensor, run_failure_alerts

alerts = dg.AssetSpec(ALERTS_ASSET, group_name="alerts", owners=["team:gallery-data"], kinds={"slack", "email"},
                      description="Every alert the pipeline recorded, one materialization per message, with what "
                                  "each channel did (sent, failed, recorded only, silenced). Written by alerts_sensor.")

defs = dg.Definitions(assets=[alerts], sensors=[alerts_sensor, run_failure_alerts],
                      resources={"alert_channels": build_alert_channels()})
