"""The video metadata refresh: due videos re-read in 50-id videos.list batches, availability without loss."""
