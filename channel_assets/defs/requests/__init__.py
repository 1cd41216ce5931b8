"""The app requests' Dagster layer: the sensor that turns queued requests into runs, the job that serves
them, and the adapter that reads the schedules' states for the app's status."""
