"""The model's `python manage.py check` (or `showmigrations`, `migrate`), run in the project session when
that is exactly what bash would run.

The definition's verification phase has the model run `python manage.py check` and `showmigrations`
through Bash: two more interpreters and `django.setup()`s, 0.3-0.5 s of CPU each, for answers the run's
project session (Django already set up with the same settings) gives from a fork. The command goes there
only when nothing could tell the two apart: a plain command line (no quoting, variables, redirection or
second command), the project's interpreter found on the command's PATH, startproject's manage.py run from
its own folder (the session's working directory), the settings module that manage.py defaults to being
the run's, no --env-file (bash does not get those values), no --settings or --pythonpath. Everything else
runs in bash, as before.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from tools.django_celery.facts import ProjectFacts
from tools.django_celery.manage_py import startproject_settings
from tools.django_celery.project_env import base_dir_of
from tools.django_celery.project_session import manage_in_session

SERVED_COMMANDS = frozenset({"check", "showmigrations", "migrate"})
_PLAIN_WORD = re.compile(r"[\w./=:,+-]+")


def session_arguments(command: str, facts: ProjectFacts, env: dict[str, str], cwd: Path) -> list[str] | None:
    """The management command and its arguments when bash would run `command` exactly as the project
    session does, else None."""
    words = command.split()
    if len(words) < 3 or not all(_PLAIN_WORD.fullmatch(word) for word in words):
        return None
    python, script, name, *rest = words
    if name not in SERVED_COMMANDS or any(word.startswith(("--settings", "--pythonpath")) for word in rest):
        return None
    found = shutil.which(python, path=env.get("PATH")) if "/" not in python else None
    interpreter = Path(facts.interpreter)
    if found is None or Path(found).parent != interpreter.parent:
        return None
    if os.path.realpath(found) != os.path.realpath(interpreter):
        return None
    manage_py = (Path(facts.root) / facts.manage_py).resolve()
    if (cwd / script).resolve() != manage_py or cwd.resolve() != base_dir_of(facts):
        return None
    if facts.env_files or startproject_settings(manage_py) != facts.settings_module:
        return None
    return [name, *rest]


def run_in_session(
    command: str, facts: ProjectFacts | None, env: dict[str, str], cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str] | None:
    """The command's outcome from the project session, or None when bash must run it. A command that runs
    past `timeout` raises subprocess.TimeoutExpired, as a subprocess would."""
    if facts is None:
        return None
    arguments = session_arguments(command, facts, env, cwd)
    return None if arguments is None else manage_in_session(facts, arguments, timeout)
