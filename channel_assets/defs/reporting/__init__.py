"""Dagster objects of the reporting: the daily freshness report, its job and schedule, and the last runs it reads from the instance."""
