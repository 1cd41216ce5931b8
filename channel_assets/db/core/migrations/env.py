"""Alembic environment: runs on the connection channel_assets.db.core.migrate hands over (PostgreSQL only).

One transaction per revision, so a revision's CREATE INDEX CONCURRENTLY (an autocommit block, see
channel_assets.db.core.adoption) commits only its own revision's work before it. Offline (`--sql`) the
DDL is printed; the revisions still inspect the live database through `inspect_connection`.
"""

import sys

from alembic import context

from channel_assets.db.core.models import Base

config = context.config
if context.is_offline_mode():
    context.configure(dialect_name="postgresql", target_metadata=Base.metadata, transaction_per_migration=True,
                      output_buffer=config.attributes.get("output", sys.stdout), literal_binds=True)
else:
    context.configure(connection=config.attributes["connection"], target_metadata=Base.metadata,
                      transaction_per_migration=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
