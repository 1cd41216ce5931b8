"""The app database: models, engines, migrations, the quota ledger and demo data. Knows nothing of Dagster."""
