"""videos_video autovacuum at 2% dead rows instead of 20%

Revision ID: 0012_video_autovacuum
Revises: 0011_video_requests
Create Date: 2026-12-04

The video refresh rewrites up to 100k videos_video rows a day (the default quota), a quarter of them
outside their page (non-HOT). At the default scale factor (0.2) autovacuum visits the table only when
a fifth of it is dead: at 1.7M rows every ~10 days, and between visits each non-HOT version extends the
table instead of reusing space. 30 daily cycles on 100k channels (bench/table_health.py) grew it from
526 to 1,335 MB (2.7x the heap bytes per live row) with 3 autovacuum runs. At 0.02 it is vacuumed about
daily and the freed space is reused. A storage parameter like revision 0010's fillfactor: no row, no
rewrite, a SHARE UPDATE EXCLUSIVE lock (the app keeps reading and writing).
"""

from alembic import op

revision = "0012_video_autovacuum"
down_revision = "0011_video_requests"
branch_labels = None
depends_on = None

SCALE_FACTOR = 0.02


def upgrade() -> None:
    op.execute(f"ALTER TABLE videos_video SET (autovacuum_vacuum_scale_factor = {SCALE_FACTOR})")


def downgrade() -> None:
    op.execute("ALTER TABLE videos_video RESET (autovacuum_vacuum_scale_factor)")
