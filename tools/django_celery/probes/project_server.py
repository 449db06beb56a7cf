"""A project process that sets Django up once and then answers the agent's questions, run in the project's
interpreter as `python -B project_server.py` from the folder holding manage.py, DJANGO_SETTINGS_MODULE set.

Every question a run asks of the project (discovery's report, `manage.py showmigrations --plan`, `migrate`,
`check`) used to start an interpreter and set Django up, 0.3-0.5 s of CPU each. This process does that once:
its first `DJINT_RESULT <json>` line is discovery's report (exactly inspect_project.py's, failures included),
then it reads one JSON request a line on stdin and answers each with one line:

- `{"op": "describe"}`: discovery's report again.
- `{"op": "missing", "modules": [...]}`: which of these a fresh interpreter outside the project could not
  import (the dependency check), as `{"ok": true, "missing": [...]}`.
- `{"op": "manage", "argv": [...], "stdout": path, "stderr": path, "timeout": s}`: `manage.py <argv>` run in
  a forked child, so the command starts with Django already set up and leaves nothing behind in this
  process (a `migrate` here cannot change what the next answer sees): the child's stdin is /dev/null, its
  stdout and stderr go to the given files, it is killed after `timeout` seconds, and it dies with this
  process. The answer is `{"ok": true, "exit": code}` (`"exit": null` when it was killed). The agent only
  asks when manage.py is startproject's (it only sets DJANGO_SETTINGS_MODULE), so the child runs exactly
  what `python manage.py <argv>` would, minus the interpreter's start and `django.setup()`.

A fork is only safe in a single-threaded process: when the project's settings or apps started a thread
(an error reporter's sender, say), manage requests are refused with `{"ok": false, "fork": ...}` and the
agent runs that command as a subprocess instead; so they are everywhere but Linux, where nothing makes a
forked child die with its parent. EOF on stdin ends the process.
Only the standard library and Django are used; compatible with old interpreters (no match, no `X | Y`).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import json
import os
import signal
import sys
import threading
import traceback

PR_SET_PDEATHSIG = 1
INSPECT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "inspect_project.py")


def load_inspect_project():
    """inspect_project.py, loaded by path: the probes folder never goes on the project's import path."""
    spec = importlib.util.spec_from_file_location("djint_inspect_project", INSPECT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def die_with_parent() -> None:
    """The kernel kills this process when its parent (the server) is gone, however that happened."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def exit_code(exc: SystemExit) -> int:
    """What the interpreter would exit with for `sys.exit(code)`."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    sys.stderr.write(f"{exc.code}\n")
    return 1


def run_command(request: dict, real_configure_logging) -> None:
    """In the forked child: become `python manage.py <argv>` and exit with its status (never returns)."""
    code = 1
    try:
        die_with_parent()
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.alarm(max(1, int(request.get("timeout") or 300)))
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        for fd, key in ((1, "stdout"), (2, "stderr")):
            target = os.open(request[key], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(target, fd)
        import django.utils.log
        from django.core.management import execute_from_command_line

        # manage.py configures logging in its django.setup(); only discovery's report skips it
        django.utils.log.configure_logging = real_configure_logging
        sys.argv = list(request["argv"])
        try:
            execute_from_command_line(sys.argv)
            code = 0
        except SystemExit as exc:
            code = exit_code(exc)
        except BaseException:
            traceback.print_exc()
            code = 1
        from django.db import connections

        connections.close_all()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def manage(request: dict, real_configure_logging) -> dict:
    """Run one management command in a forked child and wait for it."""
    if threading.active_count() > 1:
        return {"ok": False, "fork": f"{threading.active_count()} threads run in the project process"}
    if not sys.platform.startswith("linux"):
        return {"ok": False, "fork": "commands are forked only on Linux, where they die with this process"}
    from django.db import connections

    connections.close_all()  # a child must never share a parent's database connection
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        run_command(request, real_configure_logging)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return {"ok": True, "exit": None, "signal": os.WTERMSIG(status)}
    return {"ok": True, "exit": os.WEXITSTATUS(status)}


def missing_modules(names: list) -> list:
    """The modules a fresh interpreter outside the project could not import, as the agent's one-off check
    (`python -c find_spec`, no PYTHONPATH) would find them: the project's folder and PYTHONPATH are left out
    of the search, and a module already imported counts unless it is one of the project's own files."""
    project = {os.getcwd(), ""} | set(os.environ.get("PYTHONPATH", "").split(os.pathsep))
    saved = list(sys.path)
    sys.path[:] = [path for path in saved if path not in project]
    importlib.invalidate_caches()
    try:
        return [name for name in names if not installed(name)]
    finally:
        sys.path[:] = saved


def installed(name: str) -> bool:
    module = sys.modules.get(name)
    if module is not None:
        return not is_project_file(getattr(module, "__file__", None) or "")
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def is_project_file(path: str) -> bool:
    """A file of the project's own code: under its folder, but not in a site-packages folder there (an
    in-project `.venv` is where Poetry, uv and `python -m venv .venv` install the project's packages)."""
    if not path.startswith(os.getcwd() + os.sep):
        return False
    parts = path.split(os.sep)
    return "site-packages" not in parts and "dist-packages" not in parts


def preload_commands() -> None:
    """Import the commands runs ask for once here, so each forked child finds them loaded."""
    for name in ("check", "migrate", "showmigrations"):
        with contextlib.suppress(Exception):
            importlib.import_module(f"django.core.management.commands.{name}")


def serve(inspect_project, real_configure_logging) -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            if request.get("op") == "manage":
                answer = manage(request, real_configure_logging)
            elif request.get("op") == "describe":
                answer = inspect_project.describe_project()
            elif request.get("op") == "missing":
                answer = {"ok": True, "missing": missing_modules(request["modules"])}
            else:
                answer = {"ok": False, "error": f"unknown request {request.get('op')!r}"}
        except Exception as exc:  # a broken request is answered, never crashed on
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        inspect_project.emit(answer)


def main() -> None:
    sys.dont_write_bytecode = True
    sys.path[0] = os.getcwd()  # the folder holding manage.py, as `python manage.py` would have it
    inspect_project = load_inspect_project()
    try:
        import django
        import django.utils.log
    except ImportError as exc:
        inspect_project.emit(inspect_project.failure("import_django", exc))
        return
    real_configure_logging = django.utils.log.configure_logging
    django.utils.log.configure_logging = lambda *args, **kwargs: None
    try:
        django.setup()
        report = inspect_project.describe_project()
    except BaseException as exc:  # anything the user's settings or apps raise is reported, not crashed on
        inspect_project.emit(inspect_project.failure("setup", exc))
        return
    inspect_project.emit(report)
    preload_commands()
    serve(inspect_project, real_configure_logging)


if __name__ == "__main__":
    main()
