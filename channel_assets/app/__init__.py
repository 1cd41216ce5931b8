"""What the gallery app imports: a Dagster-free Python API over the pipeline's tables (`channel_assets.app.api`)."""
