"""channel_assets: keeps a video gallery's YouTube channels fresh and removes orphaned ones safely."""
