"""PostgreSQL databases for eval fixtures: created per fixture, dropped when the fixture is released.

A recipe that needs a server database creates a uniquely named one on 127.0.0.1:5432 (user postgres) whose
comment names the fixture's root folder, so the server itself is the registry: `release_fixture(root)`
drops the databases of that root, and every new database first sweeps away fixture databases whose folder
no longer exists and that nobody is connected to (an eval run or a test that was killed).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

HOST, PORT, USER = "127.0.0.1", "5432", "postgres"
PREFIX = "djint_eval_"
COMMENT = "django-integrator fixture: "


class DatabaseError(RuntimeError):
    """The PostgreSQL server could not create or drop a fixture database."""


def _psql(*statements: str) -> list[str]:
    """Run each statement as its own query (CREATE DATABASE refuses a transaction block); output rows."""
    if shutil.which("psql") is None:
        raise DatabaseError("psql is not installed: the PostgreSQL fixtures need the PostgreSQL client")
    env = {**os.environ, "PGCONNECT_TIMEOUT": "5"}
    done = subprocess.run(
        ["psql", "-h", HOST, "-p", PORT, "-U", USER, "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-Atq"]
        + [arg for statement in statements for arg in ("-c", statement)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    if done.returncode != 0:
        raise DatabaseError(f"psql on {HOST}:{PORT} failed for {statements!r}: {done.stderr.strip()}")
    return done.stdout.splitlines()


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def fixture_databases() -> dict[str, str]:
    """Every fixture database on the server -> the root folder its comment names ("" when none)."""
    rows = _psql(
        "SELECT datname || '|' || coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database "
        f"WHERE datname LIKE '{PREFIX}%'"
    )
    found = {}
    for row in rows:
        name, _, comment = row.partition("|")
        found[name] = comment.removeprefix(COMMENT) if comment.startswith(COMMENT) else ""
    return found


def create_database(root: Path) -> str:
    """A new empty database for the fixture at `root`; its name (dropped by `release_fixture(root)`)."""
    sweep_orphans()
    name = PREFIX + secrets.token_hex(6)
    _psql(
        f'CREATE DATABASE "{name}"',
        f'COMMENT ON DATABASE "{name}" IS {_quoted(COMMENT + str(root.resolve()))}',
    )
    return name


def databases_of(root: Path) -> list[str]:
    wanted = str(root.resolve())
    return sorted(name for name, owner in fixture_databases().items() if owner == wanted)


def release_fixture(root: Path) -> list[str]:
    """Drop every database created for the fixture at `root`; returns their names."""
    names = databases_of(root)
    for name in names:
        _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return names


def sweep_orphans() -> list[str]:
    """Drop fixture databases whose folder is gone; one still in use is left (DROP without FORCE fails)."""
    dropped = []
    for name, owner in fixture_databases().items():
        if owner and Path(owner).exists():
            continue
        try:
            _psql(f'DROP DATABASE IF EXISTS "{name}"')
        except DatabaseError:
            continue  # someone is connected: not an orphan after all
        dropped.append(name)
    return dropped
