"""videos_video: the requested-refresh index becomes partial (WHERE metadata_refresh_requested_at IS NOT NULL)

Revision ID: 0013_video_requested_partial
Revises: 0012_video_autovacuum
Create Date: 2026-12-05

Revision 0010's `video_refresh_requested_idx` is a full index on a column that is NULL on every row but
the few a user or an operator asked to refresh, and its only reader, the video refresh's due selection
(channel_assets.db.videos.selection, `metadata_refresh_requested_at IS NOT NULL`), never looks at the
NULLs. Yet every non-HOT update of videos_video adds an entry to it: a refresh pass moves many of its
~1M rewritten rows out of their page (they grow: 54% on the bench's first pass), and each such row pays
one of the table's eight index insertions for this index alone. The partial index
`video_refresh_requested_partial_idx` holds the requested rows only, so a NULL row's update writes nothing
into it, and it still serves that query.

Built with CREATE INDEX CONCURRENTLY (through adoption, so a re-run, an interrupted build and `--sql` are
handled as in every revision), then the old index goes with DROP INDEX CONCURRENTLY, both outside a
transaction: the app keeps reading and writing videos_video (no lock beyond CONCURRENTLY's SHARE UPDATE
EXCLUSIVE). The old index is dropped only once an index with that predicate serves the query: adoption
counts any partial index on the column as present, so an app's own partial index with another WHERE
would leave the full index in place. Only the indexes this revision names are ever dropped.
"""

import sqlalchemy as sa
from alembic import op

from channel_assets.db.core import adoption

revision = "0013_video_requested_partial"  # alembic_version.version_num is varchar(32)
down_revision = "0012_video_autovacuum"
branch_labels = None
depends_on = None

OLD = "video_refresh_requested_idx"
NEW = "video_refresh_requested_partial_idx"
PREDICATE = "metadata_refresh_requested_at IS NOT NULL"
# Revision 0010's index this one drops: `db check` (channel_assets.db.core.migrate) no longer asks for it.
RETIRED_INDEXES = (OLD,)


def _target(index: sa.Index) -> sa.MetaData:
    metadata = sa.MetaData()
    sa.Table(
        "videos_video", metadata,
        sa.Column("uuid", sa.Uuid(), primary_key=True, info={"app": True}),
        sa.Column("metadata_refresh_requested_at", sa.DateTime(timezone=True)),  # revision 0010's
        index,
        info={"partial": True},
    )
    return metadata


TARGET = _target(sa.Index(NEW, "metadata_refresh_requested_at", postgresql_where=sa.text(PREDICATE)))
# The downgrade's: revision 0010's full index.
FULL = _target(sa.Index(OLD, "metadata_refresh_requested_at"))


def _serving_index_exists(conn: sa.Connection) -> bool:
    """A valid index on videos_video with exactly this predicate (ours, or the app's under any name)."""
    return bool(conn.exec_driver_sql(
        "SELECT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = to_regclass('videos_video') AND i.indisvalid "
        f"AND pg_get_expr(i.indpred, i.indrelid) = '({PREDICATE})')").scalar())


def upgrade() -> None:
    adoption.replace_indexes(op, TARGET, "videos_video", NEW, (OLD,), _serving_index_exists)


def downgrade() -> None:
    adoption.apply(op, FULL)
    adoption.drop_indexes(op, (NEW,), table_exists=True)
