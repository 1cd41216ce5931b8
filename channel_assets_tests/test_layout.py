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


def test_the_package_needs_no_django():
    """Django is an optional extra: the code location, the CLI and the app's API load with Django absent
    (import-linter sees static imports; this sees the rest)."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['django'] = None\n"
            "import channel_assets.definitions, channel_assets.cli.main, channel_assets.app.api\n"
            "assert not any(m == 'channel_assets.app.django' or m.startswith('channel_assets.app.django.') "
            "for m in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
