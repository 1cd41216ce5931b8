"""The app-requests domain's SQL: the request table, and what the app's status and history read."""
