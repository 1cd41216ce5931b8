"""The Dagster layer: assets, checks, jobs, schedules and sensors by domain, over the plain functions of
the domain packages, with the resources and partitions they share. channel_assets.definitions assembles it."""
