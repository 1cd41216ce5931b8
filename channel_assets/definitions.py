"""The code location: the refresh and cleanup domains, with resources configured once."""

import dagster as dg

from channel_assets.cleanup.definitions import defs as cleanup_defs
from channel_assets.refresh.definitions import defs as refresh_defs
from channel_assets.resources import build_resources

defs = dg.Definitions.merge(refresh_defs, cleanup_defs, dg.Definitions(resources=build_resources()))
