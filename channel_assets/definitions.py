"""The code location: assembles the refresh and cleanup domains with their resources."""

import dagster as dg

from channel_assets.resources import build_resources

defs = dg.Definitions(resources=build_resources())
