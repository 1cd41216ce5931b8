-- The Dagster instance gets its own database beside the app tables.
CREATE DATABASE dagster OWNER channel_assets;
