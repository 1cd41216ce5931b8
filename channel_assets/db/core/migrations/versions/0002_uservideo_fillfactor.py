"""users_uservideo fillfactor 80

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Hard delete copies each video's channel snapshot (~350 bytes of JSON) into ``channel_context`` of
its watch rows, which are spread over the whole table. On full pages (fillfactor 100) every such
row version moves to another page: a non-HOT update that also writes an entry into each of the
table's three indexes. ``channel_context`` is not indexed, so with free space on the page the update
stays HOT (no index writes). Measured on the 10M-watch-row benchmark population (197k rows updated):
fillfactor 100: 8.7-9.8 s, no HOT updates; 90: 7.6 s, 34% HOT (819 free bytes hold about one
grown row per page); 80: 4.1 s, 81% HOT, for a heap 26% larger (887 -> 1116 MB).

The setting applies to pages written from now on: it changes no row and no column, and takes a
SHARE UPDATE EXCLUSIVE lock (the app keeps reading and writing). Existing pages only gain free space
after a table rewrite, e.g. ``VACUUM FULL users_uservideo`` (exclusive lock for the whole rewrite,
~30 s per 10M rows here) or ``pg_repack`` (online); the pipeline never does that itself.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE users_uservideo SET (fillfactor = 80)")


def downgrade() -> None:
    op.execute("ALTER TABLE users_uservideo RESET (fillfactor)")
