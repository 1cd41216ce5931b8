"""The refresh domain: tiers, due selection, metadata/uploads/statistics refresh and their Dagster wrappers."""
