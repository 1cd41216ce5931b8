"""The gallery app's side of the pipeline as a small reusable Django app (the extra `channel-assets[django]`).

Seed 000's management endpoints as JSON views, a user's refresh request, admin actions for the app's
Channel changelist and read-only admins for the update log and the requests. Everything goes through
`channel_assets.app.api` on the app's own database connection; nothing here imports Dagster, and nothing
else in channel_assets imports this package. README: "Using it from the gallery app".
"""
