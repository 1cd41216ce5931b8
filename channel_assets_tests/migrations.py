"""Test helper: step a database back to an earlier revision (the pipeline itself only ever upgrades)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from channel_assets.db.core import migrate


def downgrade(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS_DIR))
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
        conn.commit()


def rerun_from(engine: Engine, revision: str) -> tuple[str | None, str]:
    """As if the revision after `revision` ran but was not recorded (killed after its DDL): record `revision`
    and upgrade again; returns what `migrate.upgrade` returns."""
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = %(rev)s", {"rev": revision})
    return migrate.upgrade(engine)


def invalid_indexes(engine: Engine) -> int:
    """How many indexes an interrupted build left invalid."""
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM pg_index WHERE NOT indisvalid").scalar_one()
