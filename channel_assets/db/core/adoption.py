"""Schema adoption (the gallery app's Django database): create what is missing, check what exists, never rewrite what the app owns.

The migrations describe their tables as frozen MetaData and hand them to `plan`, which compares them
with the live database (PostgreSQL only) and answers the DDL still to run plus the incompatibilities.
So one revision both builds an empty database (the demo) and adopts the gallery app's, and re-running
it is a no-op. Markers in `Column.info` / `Table.info` / `Constraint.info`:

- ``app``: the app's column. Never added, never altered; it must exist with a compatible type.
- ``create_only``: part of a table the pipeline creates (demo), ignored on an existing table.
- ``drop_not_null``: the one constraint change seed 000's own migration makes (videos outlive channels).
- ``partial`` (table): a later revision's slice of a table. When the table is missing (only with
  `--sql` on an empty database: the baseline's CREATE TABLE was printed, not run) only its pipeline
  columns (ADD COLUMN) and its indexes are planned, plainly.

Every other column is the pipeline's: added when missing, nullable or with a server default, so the
app's INSERTs (which never name it) keep working. Indexes on a table that already exists are built
with CREATE INDEX CONCURRENTLY (outside a transaction) so the app's writes are not blocked for the
length of the build; an index counts as present when one with the same columns exists, whatever its name
(a partial index, `postgresql_where`: when a partial index on the same columns exists).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable

DIALECT = postgresql.dialect()
# An ALTER on an app table waits at most this long for its lock, instead of queueing the app behind it.
LOCK_TIMEOUT = "10s"

_FAMILIES = (
    (sa.Boolean, "boolean"),
    (sa.Integer, "integer"),
    (sa.String, "text"),
    (sa.DateTime, "timestamp"),
    (sa.Date, "date"),
    (sa.Uuid, "uuid"),
    (sa.JSON, "json"),
)


class IncompatibleSchemaError(RuntimeError):
    """The existing schema cannot be adopted without changing the app's columns; nothing was changed."""


@dataclass(frozen=True)
class Step:
    what: str
    sql: str
    concurrent: bool = False  # CREATE INDEX CONCURRENTLY: must run outside a transaction
    required: bool = True  # False: the pipeline runs without it, only slower (an index)


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def raise_if_incompatible(self) -> None:
        if self.problems:
            more = f" (and {len(self.problems) - 1} more: run `channel-assets db check`)" if len(self.problems) > 1 else ""
            raise IncompatibleSchemaError(f"incompatible schema, nothing changed: {self.problems[0]}{more}")


def family(type_) -> str:
    for cls, name in _FAMILIES:
        if isinstance(type_, cls):
            return name
    return type(type_).__name__.lower()


def _ddl(element) -> str:
    return str(element.compile(dialect=DIALECT)).strip()


def _column_ddl(col: sa.Column) -> str:
    sql = f"{col.name} {col.type.compile(dialect=DIALECT)}"
    if col.server_default is not None:
        arg = col.server_default.arg
        sql += f" DEFAULT {arg.text}" if isinstance(arg, sa.TextClause) else f" DEFAULT '{arg}'"
    if not col.nullable:
        sql += " NOT NULL"
    return sql


def _index_columns(ix) -> tuple[str, ...]:
    return tuple(c.name for c in ix.columns)


def _where(ix) -> str:
    """A partial index's ` WHERE …` (empty for a full index)."""
    where = ix.dialect_options["postgresql"].get("where")
    return f" WHERE {where.compile(dialect=DIALECT, compile_kwargs={'literal_binds': True})}" if where is not None else ""


def _invalid_indexes(conn) -> set[str]:
    """Indexes a failed CREATE INDEX CONCURRENTLY left behind: dropped and built again."""
    return set(conn.exec_driver_sql(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid AND n.nspname = current_schema()"
    ).scalars())


def plan(conn: sa.Connection, metadata: sa.MetaData) -> Plan:
    """What `metadata` still needs on the database behind `conn` (read only: inspects, runs nothing)."""
    insp = sa.inspect(conn)
    existing = set(insp.get_table_names())
    invalid = _invalid_indexes(conn)
    out = Plan()
    for table in metadata.sorted_tables:
        if table.name not in existing:
            _create_table(table, out, indexes_only=bool(table.info.get("partial")))
            continue
        _adopt_table(insp, table, invalid, out)
    return out


def _create_table(table: sa.Table, out: Plan, *, indexes_only: bool) -> None:
    if not indexes_only:
        out.steps.append(Step(f"missing table {table.name}", _ddl(CreateTable(table))))
    else:
        for col in table.columns:
            if not (col.primary_key or col.info.get("app") or col.info.get("create_only")):
                out.steps.append(Step(f"missing column {table.name}.{col.name}",
                                      f"ALTER TABLE {table.name} ADD COLUMN IF NOT EXISTS {_column_ddl(col)}"))
    for ix in sorted(table.indexes, key=lambda i: i.name):
        unique = "UNIQUE " if ix.unique else ""
        out.steps.append(Step(f"missing index {ix.name}",
                              f"CREATE {unique}INDEX {ix.name} ON {table.name} ({', '.join(_index_columns(ix))})"
                              f"{_where(ix)}"))


def _adopt_table(insp, table: sa.Table, invalid: set[str], out: Plan) -> None:
    live = {c["name"]: c for c in insp.get_columns(table.name)}
    for col in table.columns:
        if col.info.get("create_only"):
            continue
        have = live.get(col.name)
        if have is None:
            if col.info.get("app"):
                out.problems.append(f"{table.name}.{col.name} is missing (the app's column, the pipeline reads it)")
            elif not col.nullable and col.server_default is None:
                out.problems.append(f"{table.name}.{col.name} is missing and has no default to add it with")
            else:
                out.steps.append(Step(f"missing column {table.name}.{col.name}",
                                      f"ALTER TABLE {table.name} ADD COLUMN IF NOT EXISTS {_column_ddl(col)}"))
            continue
        want, got = family(col.type), family(have["type"])
        if want != got or (want == "timestamp" and not getattr(have["type"], "timezone", False)):
            kind = "timestamp with time zone" if want == "timestamp" else want
            out.problems.append(f"{table.name}.{col.name} is {have['type']}, the pipeline needs {kind}")
        elif col.info.get("drop_not_null") and not have["nullable"]:
            out.steps.append(Step(f"{table.name}.{col.name} NOT NULL (seed 000 makes it nullable)",
                                  f"ALTER TABLE {table.name} ALTER COLUMN {col.name} DROP NOT NULL"))
    known = {c.name for c in table.columns}
    for name, have in live.items():
        if name not in known and not have["nullable"] and have.get("default") is None and table.info.get("inserts"):
            out.problems.append(f"{table.name}.{name} is NOT NULL without a default and unknown to the pipeline, "
                                "whose inserts would fail")
    live_indexes = [ix for ix in insp.get_indexes(table.name) if ix["name"] not in invalid]
    present = [tuple(ix["column_names"]) + (bool(ix["unique"]),) for ix in live_indexes
               if not ix.get("dialect_options", {}).get("postgresql_where")]
    present += [tuple(uc["column_names"]) + (True,) for uc in insp.get_unique_constraints(table.name)]
    pk = insp.get_pk_constraint(table.name)["constrained_columns"]
    present.append((*pk, True))
    # A partial index counts as present when a partial index on the same columns exists (any name, any WHERE).
    partial = {tuple(ix["column_names"]) for ix in live_indexes if ix.get("dialect_options", {}).get("postgresql_where")}
    for ix in sorted(table.indexes, key=lambda i: i.name):
        if ix.info.get("create_only"):
            continue
        cols = _index_columns(ix)
        if _where(ix):
            if cols in partial:
                continue
        elif (*cols, True) in present or (not ix.unique and (*cols, False) in present):
            continue
        if ix.name in invalid:
            out.steps.append(Step(f"invalid index {ix.name} (an interrupted build)",
                                  f"DROP INDEX CONCURRENTLY IF EXISTS {ix.name}", concurrent=True, required=False))
        unique = "UNIQUE " if ix.unique else ""
        out.steps.append(Step(f"missing index {ix.name}",
                              f"CREATE {unique}INDEX CONCURRENTLY IF NOT EXISTS {ix.name} ON {table.name} "
                              f"({', '.join(cols)}){_where(ix)}", concurrent=True, required=False))


def inspect_connection(op) -> sa.Connection:
    """The live connection to inspect: Alembic's own online; with `--sql` (offline, where Alembic only
    prints) the read-only connection channel_assets.db.core.migrate hands over, so the printed plan is this
    database's, not an empty one's."""
    from alembic import context

    if op.get_context().as_sql:
        return context.config.attributes["inspect_connection"]
    return op.get_bind()


def apply(op, metadata: sa.MetaData) -> None:
    """Run the plan through Alembic's `op` (so `--sql` prints the same statements it would run)."""
    todo = plan(inspect_connection(op), metadata)
    todo.raise_if_incompatible()
    in_tx = [s for s in todo.steps if not s.concurrent]
    if any(s.sql.startswith("ALTER TABLE") for s in in_tx):
        op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    for step in in_tx:
        op.execute(step.sql)
    concurrent = [s for s in todo.steps if s.concurrent]
    if concurrent:
        with op.get_context().autocommit_block():
            for step in concurrent:
                op.execute(step.sql)


def drop_indexes(op, names: Sequence[str], *, table_exists: bool) -> None:
    """Drop the pipeline's own indexes by name: CONCURRENTLY, outside a transaction, so the app keeps
    reading and writing; plainly in a `--sql` script for an empty database (it builds the table plainly)."""
    if not table_exists:
        for name in names:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        return
    with op.get_context().autocommit_block():
        for name in names:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


def replace_indexes(op, metadata: sa.MetaData, table: str, new: str, old: Sequence[str],
                    serving: Callable[[sa.Connection], bool]) -> None:
    """Build `new` (declared in `metadata`, through `apply`), then drop the indexes named `old`, but only once
    an index serves their queries: `new` built by this call, or `serving(connection)` finding one that
    already does (the app's own, under any name). Only the indexes named in `old` are ever dropped."""
    conn = inspect_connection(op)
    table_exists = sa.inspect(conn).has_table(table)
    builds = any(s.what == f"missing index {new}" for s in plan(conn, metadata).steps)
    serves = builds or (table_exists and serving(conn))
    apply(op, metadata)
    if serves:
        drop_indexes(op, old, table_exists=table_exists)
