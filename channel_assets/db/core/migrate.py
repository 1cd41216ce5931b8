"""Versioned schema migrations (Alembic), driven from code so `channel-assets db upgrade` needs no ini file.

The revisions adopt an existing gallery app database as well as build an empty one (see adoption);
`plan_sql` prints what `upgrade` would run on this database, `check` says what is missing or wrong.
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData

from channel_assets.db.core import adoption

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _config(**attributes) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes.update(attributes)
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Apply pending revisions; returns (revision before, revision after). A no-op when at head.
    Raises adoption.IncompatibleSchemaError (nothing changed) when the existing schema cannot be adopted."""
    before = current_revision(engine)
    with engine.connect() as conn:  # not begun: env.py runs one transaction per revision
        conn.exec_driver_sql("SET statement_timeout = 0")  # an index build on a big app table takes long
        conn.commit()  # a session setting: it outlives this commit, and Alembic begins its own transactions
        command.upgrade(_config(connection=conn), revision)
        conn.commit()
    return before, current_revision(engine)


def plan_sql(engine: Engine) -> str:
    """The DDL `upgrade` would run here, without running it: Alembic offline mode, whose revisions inspect
    this database through a read-only connection (so on the app's database only what is missing shows)."""
    start = current_revision(engine)
    out = io.StringIO()
    with engine.connect() as conn:
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        command.upgrade(_config(inspect_connection=conn, output=out), f"{start}:head" if start else "head",
                        sql=True)
        conn.rollback()
    return out.getvalue()


def _targets() -> list[tuple[str, MetaData]]:
    """(revision, tables) of every adopting revision, in order (each names them BASELINE or TARGET), without
    the indexes a later revision dropped (its RETIRED_INDEXES: e.g. 0013 replaced 0010's full index)."""
    script = ScriptDirectory.from_config(_config())
    out, retired = [], set()
    for rev in reversed(list(script.walk_revisions())):
        spec = importlib.util.spec_from_file_location(f"_ca_rev_{rev.revision}", rev.path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        retired.update(getattr(module, "RETIRED_INDEXES", ()))
        metadata = getattr(module, "BASELINE", None) or getattr(module, "TARGET", None)
        if metadata is not None:
            out.append((rev.revision, metadata))
    for _, metadata in out:  # modules loaded for this call only: their MetaData is ours to trim
        for table in metadata.tables.values():
            for ix in [ix for ix in table.indexes if ix.name in retired]:
                table.indexes.discard(ix)
    return out


def check(engine: Engine) -> tuple[list[str], bool]:
    """One line per missing or incompatible piece, and whether the pipeline can run on this database as is
    (missing indexes only slow it down; a missing table or column, or a wrong type, stops it)."""
    lines, runnable = [], True
    with engine.connect() as conn:
        for _, metadata in _targets():
            found = adoption.plan(conn, metadata)
            lines += [f"incompatible: {p}" for p in found.problems]
            lines += [f"{s.what}: db upgrade {'fixes it' if s.required else 'adds it (the pipeline runs without it, slower)'}"
                      for s in found.steps if not s.what.startswith("invalid")]
            runnable = runnable and not found.problems and not any(s.required for s in found.steps)
    current, head = current_revision(engine), head_revision()
    if current != head:
        lines.append(f"pending: schema revision {current or 'none'}, head is {head} (db upgrade applies it)")
    return lines, runnable
