"""Cleanup domain (F8–F12): orphan detection, impact analysis, snapshots, soft/hard delete, restore."""
