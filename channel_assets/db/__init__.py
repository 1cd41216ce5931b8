"""The data-access layer: every SQL statement of the project, by what it serves.

`core` is the database itself (models, migrations, adoption of the app's schema, engines, the embedded
server, shard hashing, SQL building blocks); `refresh`, `cleanup` and `audit` hold the queries of those
domains; `demo_data` the demo's. Plain SQLAlchemy and psycopg: nothing here imports Dagster or a domain.
"""
