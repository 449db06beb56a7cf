"""Run things in the user's project with the project's own interpreter, never in the agent's process.

Every subprocess that touches the project goes through here so they all share one environment recipe:
the project's interpreter first on PATH, the folder holding manage.py importable, bytecode writing off
(no `__pycache__` left in the user's tree), and no DJANGO_SETTINGS_MODULE leaking in from the agent's shell.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from tools.django_celery.facts import ProjectFacts
from tools.model_keys import without_model_keys


def project_process_env(
    interpreter: Path,
    base_dir: Path,
    settings_module: str | None = None,
    extra: dict[str, str] | None = None,
    extra_pythonpath: list[Path] | None = None,
    env_files: list[str] | None = None,
) -> dict[str, str]:
    """Environment for a process that imports the project (settings module set when given).

    `env_files` (--env-file) are read here, at the moment a process starts, and only into that process's
    environment: their values (often secrets) never enter the agent's state, transcript or report. As with
    docker compose's env_file, a variable already set in the shell wins over the file.
    """
    env = without_model_keys({**env_file_values(env_files or []), **os.environ})
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env["PATH"] = str(Path(interpreter).parent) + os.pathsep + env.get("PATH", "")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    if settings_module:
        env["DJANGO_SETTINGS_MODULE"] = settings_module
    paths = [str(p) for p in (extra_pythonpath or [])] + [str(base_dir)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update(extra or {})
    return env


def env_file_values(files: list[str]) -> dict[str, str]:
    """The variables of the given dotenv files, later files winning; unreadable files give nothing."""
    values: dict[str, str] = {}
    for file in files:
        values.update({k: v for k, v in dotenv_values(file).items() if v is not None})
    return values


def facts_env(
    facts: ProjectFacts, extra: dict[str, str] | None = None, extra_pythonpath: list[Path] | None = None
) -> dict[str, str]:
    """`project_process_env` for a discovered project, with its own settings module."""
    return project_process_env(
        Path(facts.interpreter),
        base_dir_of(facts),
        facts.settings_module,
        extra,
        extra_pythonpath,
        facts.env_files,
    )


def base_dir_of(facts: ProjectFacts) -> Path:
    """Absolute folder holding manage.py (the directory `celery -A` and `manage.py` run from)."""
    return (Path(facts.root) / facts.base_dir).resolve()


def run_manage(
    facts: ProjectFacts, *args: str, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python manage.py <args>` in the project's interpreter, from the folder holding manage.py: in the
    run's project session when it can (the project's own environment, startproject's manage.py), else as
    a subprocess."""
    if env is None:
        from tools.django_celery.project_session import manage_in_session  # it builds on this module

        done = manage_in_session(facts, list(args), timeout)
        if done is not None:
            return done
    return subprocess.run(
        [facts.interpreter, str(Path(facts.root) / facts.manage_py), *args],
        cwd=base_dir_of(facts),
        env=env if env is not None else facts_env(facts),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


# Probe scripts (run in the project's interpreter) print their answer as one line: RESULT_MARKER + JSON.
RESULT_MARKER = "DJINT_RESULT "


def result_payload(stdout: str) -> dict[str, Any] | None:
    """The JSON answer a probe printed (its last marked line), or None when it printed none."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER) :])
    return None


def run_json_probe(
    argv: list[str], *, cwd: Path, env: dict[str, str], timeout: float, what: str
) -> dict[str, Any]:
    """Run a probe script; its JSON answer, or `{"ok": False, "error": ...}` naming `what` when it hung or crashed."""
    try:
        done = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"the {what} gave no answer within {timeout:.0f} s"}
    payload = result_payload(done.stdout)
    if payload is None:
        return {"ok": False, "error": f"the {what} crashed:\n{(done.stderr or done.stdout)[-2000:]}"}
    return payload
