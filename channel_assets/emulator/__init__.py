"""A local YouTube Data API v3 emulator: independent ground truth for the pipeline's client.

Plain stdlib; shares no code with ``channel_assets.youtube`` on purpose, so a
parsing bug cannot hide by being present on both sides.
"""

from channel_assets.emulator.server import DEFAULT_API_KEY, EmulatorServer, serve_main
from channel_assets.emulator.world import World, channel_ids

__all__ = ["DEFAULT_API_KEY", "EmulatorServer", "World", "channel_ids", "serve_main"]
