"""Dagster objects of the alerts: the `alerts` asset, the two alert sensors, their resource, and what they read from the Dagster instance."""
