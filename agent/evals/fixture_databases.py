"""PostgreSQL databases for eval fixtures: created per fixture, dropped when the fixture is released.

A recipe that needs a server database creates a uniquely named one on 127.0.0.1:5432 (user postgres) and
records it in `<state home>/eval-databases/<name>.json` with the fixture's root. `release_fixture(root)`
drops the databases of that root; every new database first sweeps away recorded databases whose fixture
folder no longer exists, so a crashed eval run leaves nothing behind for long.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path

from tools.journal import state_home

HOST, PORT, USER = "127.0.0.1", "5432", "postgres"
PREFIX = "djint_eval_"


class DatabaseError(RuntimeError):
    """The PostgreSQL server could not create or drop a fixture database."""


def _registry() -> Path:
    return state_home() / "eval-databases"


def _psql(sql: str, database: str = "postgres") -> None:
    if shutil.which("psql") is None:
        raise DatabaseError("psql is not installed: the PostgreSQL fixtures need the PostgreSQL client")
    env = {**os.environ, "PGCONNECT_TIMEOUT": "5"}
    done = subprocess.run(
        ["psql", "-h", HOST, "-p", PORT, "-U", USER, "-d", database, "-v", "ON_ERROR_STOP=1", "-qc", sql],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    if done.returncode != 0:
        raise DatabaseError(f"psql on {HOST}:{PORT} failed for {sql!r}: {done.stderr.strip()}")


def create_database(root: Path) -> str:
    """A new empty database for the fixture at `root`; its name (dropped by `release_fixture(root)`)."""
    sweep_orphans()
    name = PREFIX + secrets.token_hex(6)
    _registry().mkdir(parents=True, exist_ok=True)
    (_registry() / f"{name}.json").write_text(json.dumps({"root": str(root.resolve())}))
    _psql(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name: str) -> None:
    _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    (_registry() / f"{name}.json").unlink(missing_ok=True)


def databases_of(root: Path) -> list[str]:
    wanted = str(root.resolve())
    return [
        file.stem
        for file in sorted(_registry().glob(f"{PREFIX}*.json"))
        if json.loads(file.read_text()).get("root") == wanted
    ]


def release_fixture(root: Path) -> list[str]:
    """Drop every database created for the fixture at `root`; returns their names."""
    if not _registry().is_dir():
        return []
    names = databases_of(root)
    for name in names:
        drop_database(name)
    return names


def sweep_orphans() -> list[str]:
    """Drop recorded databases whose fixture folder is gone (an eval run that crashed or was killed)."""
    if not _registry().is_dir():
        return []
    orphans = [
        file.stem
        for file in sorted(_registry().glob(f"{PREFIX}*.json"))
        if not Path(json.loads(file.read_text()).get("root", "/nonexistent")).exists()
    ]
    for name in orphans:
        drop_database(name)
    return orphans
