"""The `alerts` asset the alert sensors report to: one materialization per message handled."""

import dagster as dg

from channel_assets.defs.alerts.sensors import ALERTS_ASSET
from channel_assets.defs.owners import OWNERS

alerts = dg.AssetSpec(ALERTS_ASSET, group_name="alerts", owners=OWNERS, kinds={"slack", "email"},
                      description="Every alert the pipeline recorded, one materialization per message, with what "
                                  "each channel did (sent, failed, recorded only, silenced). Written by alerts_sensor.")
