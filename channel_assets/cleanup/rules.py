"""Cleanup rules shared by the checks and the freshness report (no imports: anyone may read them)."""

from datetime import timedelta

# Seed 000's metric: 100% of orphaned channels removed within 7 days. An orphan counts as removed when it
# leaves the active set (soft delete: no quota, not shown); the hard delete follows after the cool-down.
ORPHAN_DEADLINE = timedelta(days=7)
