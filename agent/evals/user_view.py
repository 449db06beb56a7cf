"""After an eval run, look at the project as its developer would: do its tests pass, is the code lint-clean?

The project's own test runner (pytest-django when configured, else `manage.py test`) runs its whole suite,
which includes the test modules the integration added, with a broker URL nothing answers on — so a pass
also shows the tests need no broker. `ruff check` runs on the Python files the integration changed, from
the project's root so the project's own ruff configuration applies (ruff's defaults when it has none).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

from tools.django_celery.discovery import discover_project
from tools.django_celery.project_tests import run_project_tests


def user_view(
    project: Path,
    changed_files: list[str],
    settings_module: str | None = None,
    env_files: list[str] | None = None,
) -> dict[str, Any]:
    facts = discover_project(project, settings_module=settings_module, env_files=env_files)
    suite = run_project_tests(facts)
    tests = {
        "passed": len(suite.passed),
        "failed": suite.failed,
        "error": suite.error,
        "runner": suite.runner,
    }
    return {"project_tests": tests, "ruff": _ruff(project, [f for f in changed_files if f.endswith(".py")])}


def _ruff(project: Path, files: list[str]) -> dict[str, Any]:
    if importlib.util.find_spec("ruff") is None:
        return {"findings": None, "output": "ruff is not installed here (pip install -e '.[dev]')"}
    if not files:
        return {"findings": 0, "output": ""}
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", *files],
        cwd=project,
        capture_output=True,
        text=True,
    )
    findings = [line for line in done.stdout.splitlines() if ":" in line and line.split(":", 1)[0] in files]
    return {"findings": len(findings), "output": "\n".join(findings[:20])}


def unmet_user_view(view: dict[str, Any]) -> list[str]:
    """What a developer would object to: a failing or unrunnable test suite, lint findings."""
    problems = []
    tests = view["project_tests"]
    if tests["error"]:
        problems.append(f"the project's tests could not be run: {tests['error']}")
    elif tests["failed"]:
        problems.append(f"the project's tests fail after the integration: {', '.join(tests['failed'][:5])}")
    if view["ruff"]["findings"]:
        problems.append(
            f"ruff finds {view['ruff']['findings']} problem(s) in changed files:\n{view['ruff']['output']}"
        )
    return problems
