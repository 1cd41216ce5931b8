"""The code location: the refresh, cleanup and alerts domains, with resources configured once."""

import dagster as dg

from channel_assets.alerts import definitions as alerts
from channel_assets.cleanup import definitions as cleanup
from channel_assets.refresh import definitions as refresh
from channel_assets.resources import build_resources

defs = dg.Definitions.merge(refresh.defs, cleanup.defs, alerts.defs, dg.Definitions(resources=build_resources()))
