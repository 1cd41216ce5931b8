"""The database itself: models and migrations, adoption of the gallery app's schema, engines and the
embedded PostgreSQL, the shard hash, and the SQL building blocks the other packages use."""
