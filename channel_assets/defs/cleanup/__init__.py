"""Dagster objects of the cleanup: detection, snapshots and removal as daily assets with their checks, the operator jobs, schedules and the subscription sensor."""
