"""Checks made after discovery and before the first write: input that would fail later is refused now.

A run that finds out in verification that the broker is down, or in implementation that a file is
read-only, has already spent minutes and changed files it must then put back; worse, it ends as "the run
failed" (exit 1) when the problem is the input (exit 2). Each check here raises a `DiscoveryError` naming
the problem and the fix, while the project is still untouched. (A password already in the project's
settings is not refused: it is reported with file:line, and removed with --fix-url-passwords; only a bare
literal URL with a password stops a run that cannot ask, because checklist item 9 cannot pass with it.)

- a module or package named `celery` importable from the project (it shadows the library);
- a file or folder the integration writes that is read-only, or a symlink that leaves the project;
- a broker URL that does not answer, or answers as something else (a port in use by another program);
- a database server that refuses connections;
- any edit the setup's codemods cannot make (the same code, run in memory: nothing is written);
- in a run that cannot ask, a broker/backend URL written in the settings with its password, without
  --fix-url-passwords (the password would stay in the repository and item 9 would fail after every write).
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from tools.base import ToolError
from tools.django_celery.codemods.settings_chain import project_chain
from tools.django_celery.codemods.source import disk_reader
from tools.django_celery.codemods.url_passwords import has_url_password
from tools.django_celery.discovery_error import DiscoveryError
from tools.django_celery.facts import Decisions, ProjectFacts
from tools.django_celery.live_overlay import BrokerChoiceError, check_broker_scheme, mask_url
from tools.django_celery.project_env import base_dir_of, facts_env
from tools.django_celery.setup import plan_setup
from tools.secret_guard import mask_url_passwords

CONNECT_TIMEOUT = 3.0
DATABASE_TIMEOUT = 30.0
# What a server of each kind says first: Redis answers PING with +PONG (or an error such as -NOAUTH, still
# Redis); an AMQP 0-9-1 broker answers the protocol header with a method frame (type 1, Connection.Start).
_GREETINGS = {"redis": (b"PING\r\n", (b"+", b"-")), "amqp": (b"AMQP\x00\x00\x09\x01", (b"\x01",))}
_DEFAULT_PORTS = {"redis": 6379, "amqp": 5672}
_SCHEME_KIND = {"redis": "redis", "rediss": "redis", "amqp": "amqp", "pyamqp": "amqp"}


def preflight(facts: ProjectFacts, decisions: Decisions, interactive: bool = False) -> None:
    """Raise DiscoveryError for the first input problem found; return when the run may start writing."""
    root = Path(facts.root).resolve()
    _no_celery_shadow(facts)
    if not interactive and not decisions.fix_url_passwords:
        _no_password_literal(facts, root)
    _links_stay_inside(facts, root)
    _writable(facts, decisions, root)
    if decisions.broker_url:
        _broker_answers(decisions.broker_url)
    _database_answers(facts)
    try:
        plan_setup(root, facts, decisions.model_copy(deep=True))
    except ToolError as exc:
        raise DiscoveryError(str(exc)) from exc  # the CLI adds that nothing was changed


def _no_celery_shadow(facts: ProjectFacts) -> None:
    base = base_dir_of(facts)
    names = {facts.project_package.split(".")[0], *(app.module.split(".")[0] for app in facts.apps)}
    shadowing = [p for p in (base / "celery", base / "celery.py") if p.exists()]
    if "celery" in names or shadowing:
        where = shadowing[0] if shadowing else base / "celery"
        raise DiscoveryError(
            f"{where} is a module named `celery` on the project's import path: it shadows the Celery library, "
            "so `from celery import Celery` would import your code. Rename it (e.g. to `tasks_app` or "
            "`config`, and update its imports), then run again."
        )


def _no_password_literal(facts: ProjectFacts, root: Path) -> None:
    """A URL with a password assigned as a literal (not read from the environment) to a Celery URL setting."""
    chain = project_chain(facts, disk_reader(root))
    for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "BROKER_URL", "CELERY_RESULT_BACKEND_URL"):
        for assignment in chain.assignments(name):
            if has_url_password(assignment.code) and not chain.reads_environment(assignment.value):
                raise DiscoveryError(
                    f"{assignment.where}: {name} is written with its password ({mask_url_passwords(assignment.code)})"
                    ": the password stays in your repository and checklist item 9 (no secrets, URLs from the "
                    "environment) cannot pass. Run again with --fix-url-passwords (the URL is read from the "
                    "environment, its password left out; put the real URL in .env), or make that change yourself."
                )


def _links_stay_inside(facts: ProjectFacts, root: Path) -> None:
    """The project's own packages (its apps, the settings package) must not be symlinks to elsewhere."""
    base = base_dir_of(facts)
    tops = {entry.split(".")[0] for entry in facts.installed_apps} | {facts.project_package.split(".")[0]}
    for top in sorted(tops):
        for candidate in (base / top, base / f"{top}.py"):
            if candidate.is_symlink() and not candidate.resolve().is_relative_to(root):
                raise DiscoveryError(
                    f"{candidate} is a symlink to {candidate.resolve()}, outside the project: the agent only "
                    "changes files inside the project folder. Replace the link with the folder itself, or run "
                    "on a folder that contains both."
                )


def _writable(facts: ProjectFacts, decisions: Decisions, root: Path) -> None:
    """Every file the setup edits and every folder it adds files to must be writable by this user."""
    folders = {root, base_dir_of(facts), root / facts.project_package_dir}
    folders |= {root / app.path for app in facts.apps if app.label in decisions.task_apps}
    files = {root / facts.installed_apps_file, root / facts.celery_settings_file}
    for path in sorted(folders) + sorted(files):
        is_folder = path in folders
        if path.exists() and _read_only(path, is_folder):
            kind = "folder" if is_folder else "file"
            raise DiscoveryError(
                f"The {kind} {path} is read-only, and the integration has to "
                f"{'add files to' if is_folder else 'edit'} it. Make it writable "
                f"(chmod u+w {path}) and run again."
            )


def _read_only(path: Path, is_folder: bool) -> bool:
    """Not writable by this user, or marked read-only by its mode: root may write a 0444 file, but a user who
    took every write bit away has said the file is not to be changed, and the run must respect that."""
    if not os.access(path, os.W_OK | (os.X_OK if is_folder else 0)):
        return True
    return stat.S_IMODE(path.stat().st_mode) & 0o222 == 0


def _broker_answers(url: str) -> None:
    """The broker accepts a connection and greets as a broker of its scheme (not some other program)."""
    try:
        check_broker_scheme(url)
    except BrokerChoiceError as exc:
        raise DiscoveryError(str(exc)) from exc
    parts = urlsplit(url)
    kind = _SCHEME_KIND.get(parts.scheme)
    if kind is None:
        return  # the embedded broker: nothing to reach
    host, port = parts.hostname or "localhost", parts.port or _DEFAULT_PORTS[kind]
    fix = f"Start the broker, or pass --broker with the URL of a running {kind} server (or none: embedded)."
    hello, replies = _GREETINGS[kind]
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT) as connection:
            connection.sendall(hello)
            first = connection.recv(1)
    except OSError as exc:
        raise DiscoveryError(f"The broker {mask_url(url)} does not answer ({exc}). {fix}") from exc
    if not first.startswith(replies):
        raise DiscoveryError(
            f"Something answers on {host}:{port}, but it is not a {kind} server (the port is in use by another "
            f"program). {fix}"
        )


_CONNECT = "import django; django.setup(); from django.db import connection; connection.ensure_connection()"


def _database_answers(facts: ProjectFacts) -> None:
    """A database server (not SQLite, a file) accepts the project's own connection settings."""
    if facts.database_engine.endswith("sqlite3"):
        return
    try:
        done = subprocess.run(
            [facts.interpreter, "-c", _CONNECT],
            cwd=base_dir_of(facts),
            env=facts_env(facts),
            capture_output=True,
            text=True,
            timeout=DATABASE_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        done = None
    if done is not None and done.returncode == 0:
        return
    reason = (done.stderr.strip().splitlines() or ["no answer"])[-1] if done else "no answer within 30 s"
    raise DiscoveryError(
        f"The database of {facts.settings_module} ({facts.database_engine}) refuses the connection: {reason}. "
        "Start the database server or fix DATABASES in the settings, then run again (verification migrates it)."
    )
