"""One long-lived process in the project's interpreter per state of the project's code, for the questions a
run asks of the project: discovery's report and the `manage.py` commands (migration plans, `migrate`,
`check`, `createcachetable`, and the model's own `python manage.py ...` where that is the same thing).

A run used to start eleven interpreters on startproject, each paying 0.3-0.5 s of CPU for its start and
`django.setup()`. A session (`probes/project_server.py`) sets Django up once, gives discovery's report as
its first answer, and runs each management command in a forked child of itself. Django cannot be set up
twice in one process, so a session serves one state of the code: every question first digests the
project's tree (only changed files are read again) and a changed digest ends the session and starts a
new one, so a first run has one before its writes and one after. The project's SQLite database is left
out of that digest: the forked commands open it afresh each time, so `migrate` and the plan read after it
share a session. The session is also tied to the interpreter's installed packages and the environment.

Sessions only live inside `project_sessions()` (a run, an audit), and all of them end when the outermost
block ends; outside one, callers run their one-off subprocess as before. Anything a session cannot
answer the same way a subprocess would (settings that do not load, a manage.py that does more than
startproject's, a process with threads that a fork would break, a crash) gets None, and the caller runs
the subprocess: the session only ever saves time, it never changes an answer.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from tools.django_celery.facts import ProjectFacts
from tools.django_celery.manage_py import startproject_settings
from tools.django_celery.probe_session import ProbeSession
from tools.django_celery.project_env import base_dir_of, facts_env
from tools.django_celery.tree_digest import env_digest, packages_digest, tree_digest
from tools.scratch import scratch_dir

SERVER = Path(__file__).resolve().parent / "probes" / "project_server.py"
START_TIMEOUT = 120.0
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")

_lock = threading.Lock()
_depth = 0  # open project_sessions() blocks
_sessions: dict[tuple[str, ...], _Session] = {}


@contextmanager
def project_sessions() -> Iterator[None]:
    """Let sessions live while the block runs; the outermost block's end closes every one of them."""
    global _depth
    with _lock:
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            ending = list(_sessions.values()) if _depth == 0 else []
            if _depth == 0:
                _sessions.clear()
        for session in ending:
            session.close()


class _Session:
    """A project_server.py process, the report it started with and the code digest it is valid for."""

    def __init__(self, interpreter: str, root: Path, base_dir: Path, env: dict[str, str]) -> None:
        self.root, self.base_dir = root, base_dir
        self.process = ProbeSession([interpreter, "-B", str(SERVER)], base_dir, env, "project session")
        self.report: dict[str, Any] = {}
        self.leave_out: frozenset[Path] = frozenset()
        self.code = ""
        self.lock = threading.Lock()  # one question at a time; held while starting
        self.started = False

    def start(self) -> None:
        """Start it (once) and digest the code it loaded. A session that could not start, or whose tree
        changed while it loaded (it may hold a mix of both states), answers nothing, so its callers run
        their subprocesses; it stays the session of that state, and the next change replaces it."""
        if self.started:
            return
        self.started = True
        before = tree_digest(self.root)
        try:
            self.process.start()
        except OSError as exc:  # no such interpreter: the one-off probe says so in its own words
            self.report = {"ok": False, "error": str(exc)}
        else:
            self.report = self.process.answer(START_TIMEOUT)
        self.leave_out = database_files(self.report, self.base_dir)
        self.code = tree_digest(self.root, self.leave_out)
        if tree_digest(self.root) != before:
            self.report = {}

    def current(self) -> bool:
        return tree_digest(self.root, self.leave_out) == self.code

    def manage(self, argv: list[str], timeout: float) -> subprocess.CompletedProcess[str] | None:
        """`manage.py <argv>` in a forked child; None when this session cannot run it."""
        if not self.report.get("ok"):
            return None
        with scratch_dir("manage") as folder:
            out, err = Path(folder) / "stdout", Path(folder) / "stderr"
            request = {
                "op": "manage",
                "argv": argv,
                "stdout": str(out),
                "stderr": str(err),
                "timeout": timeout,
            }
            answer = self.process.answer(timeout + 10, request)
            if not answer.get("ok"):
                if "fork" not in answer:  # it crashed or hung: not asked again in this state of the code
                    self.report = {}
                return None
            stdout, stderr = (
                path.read_text(errors="replace") if path.exists() else "" for path in (out, err)
            )
        if answer.get("exit") is None:
            raise subprocess.TimeoutExpired(argv, timeout, output=stdout, stderr=stderr)
        return subprocess.CompletedProcess(argv, answer["exit"], stdout, stderr)

    def missing(self, modules: list[str]) -> list[str] | None:
        """The modules the interpreter lacks (see project_server.missing_modules); None when not asked."""
        if not self.report.get("ok"):
            return None
        answer = self.process.answer(START_TIMEOUT, {"op": "missing", "modules": modules})
        return answer["missing"] if answer.get("ok") else None

    def close(self) -> None:
        with self.lock:
            self.process.close()


def database_files(report: dict[str, Any], base_dir: Path) -> frozenset[Path]:
    """The SQLite database a report names, with its journal files (absolute, resolved)."""
    name, engine = report.get("database_name"), report.get("database_engine") or ""
    if not name or not engine.endswith("sqlite3") or name == ":memory:" or name.startswith("file:"):
        return frozenset()
    database = (base_dir / name).resolve()
    return frozenset(database.with_name(database.name + suffix) for suffix in SQLITE_COMPANIONS)


@contextmanager
def _asking(
    interpreter: str, root: Path, base_dir: Path, settings: str, env: dict[str, str], env_files: list[str]
) -> Iterator[_Session | None]:
    """The current session for this interpreter, settings and environment (started when needed), held for
    one question; None outside `project_sessions()`."""
    key = (
        interpreter,
        str(root),
        str(base_dir),
        settings,
        env_digest(env, env_files),
        packages_digest(interpreter),
    )
    while True:
        with _lock:
            session = _sessions.get(key) if _depth else None
            if _depth and session is None:
                session = _sessions[key] = _Session(interpreter, root, base_dir, env)
        if session is None:
            yield None
            return
        with session.lock:
            session.start()
            if session.current():
                yield session
                return
        with _lock:
            if _sessions.get(key) is session:
                del _sessions[key]
        session.close()


def _facts_session(facts: ProjectFacts) -> AbstractContextManager[_Session | None]:
    root = Path(facts.root).resolve()
    return _asking(
        facts.interpreter, root, base_dir_of(facts), facts.settings_module, facts_env(facts), facts.env_files
    )


def discovery_report(
    interpreter: str, root: Path, base_dir: Path, settings: str, env: dict[str, str], env_files: list[str]
) -> dict[str, Any] | None:
    """Discovery's report from the session for this state of the code, or None outside a session block
    (and when the session gave none: a crash or a hang, which the one-off probe then reports itself)."""
    with _asking(interpreter, root.resolve(), base_dir, settings, env, env_files) as session:
        if session is None or not (session.report.get("ok") or "stage" in session.report):
            return None
        return session.report


def missing_in_session(facts: ProjectFacts, modules: list[str]) -> list[str] | None:
    """Which of `modules` the project's interpreter cannot import, from its session; None outside one."""
    with _facts_session(facts) as session:
        return None if session is None else session.missing(modules)


def manage_in_session(
    facts: ProjectFacts, args: list[str], timeout: float
) -> subprocess.CompletedProcess[str] | None:
    """`python manage.py <args>` with the project's own settings and environment, run in the session when
    that is the same as the subprocess (startproject's manage.py); None when the caller must run it."""
    manage_py = Path(facts.root) / facts.manage_py
    if startproject_settings(manage_py) is None:
        return None
    with _facts_session(facts) as session:
        done = None if session is None else session.manage([str(manage_py), *args], timeout)
    if done is None:
        return None
    return subprocess.CompletedProcess(
        [facts.interpreter, *done.args], done.returncode, done.stdout, done.stderr
    )
