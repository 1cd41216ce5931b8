"""The cleanup's SQL and its rules: "followed", the safety thresholds, orphan detection, snapshots,
soft and hard delete, restore and re-link, and what the cleanup's checks and sensor read."""
