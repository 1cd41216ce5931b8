"""The video metadata refresh's SQL: tiers, the due selection, the set-based writes, the checks' reads."""
