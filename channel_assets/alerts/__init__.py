"""Alerts: Dagster OSS has no alert policies, so the pipeline tells a human itself."""
