"""The refresh's SQL: due selection, the metadata and uploads writes, tiering, statistics, the quota
ledger, operator changes, and the reads of the freshness report and the new-subscription sensor."""
