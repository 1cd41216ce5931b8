"""The rule import-linter cannot see: every SQL statement of the project lives in channel_assets/db.

Outside db/, a module may name SQLAlchemy's Engine and Connection (to pass them on) and its error classes
(to report them), and nothing else: no query builder, no text SQL, no psycopg, no `.execute(`.
"""

import ast
from pathlib import Path

import channel_assets

PACKAGE = Path(channel_assets.__file__).parent
ALLOWED = {"sqlalchemy": {"Engine", "Connection"}, "sqlalchemy.exc": {"DBAPIError", "OperationalError"}}


def _violations(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in ("sqlalchemy", "psycopg")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("sqlalchemy", "psycopg"):
            found += [f"{node.module}.{a.name}" for a in node.names if a.name not in ALLOWED.get(node.module, ())]
        elif isinstance(node, ast.Attribute) and node.attr in ("execute", "exec_driver_sql", "executemany"):
            found.append(f".{node.attr}(")
    return [f"{path.relative_to(PACKAGE)}:{v}" for v in found]


def test_no_sql_outside_the_data_access_layer():
    outside = [p for p in PACKAGE.rglob("*.py") if "db" not in p.relative_to(PACKAGE).parts[:1]]
    assert len(outside) > 30  # the walk really sees the package
    assert [v for p in outside for v in _violations(p)] == []


def test_the_check_sees_sql_where_there_is_some():
    assert _violations(PACKAGE / "db" / "refresh" / "selection.py")
