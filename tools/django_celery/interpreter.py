"""Which Python runs the user's project: the one the user would use, never silently the agent's own.

The agent never imports the project; it runs it as a subprocess, so it must find the interpreter that has
the project's dependencies. The search order follows how people actually set projects up: an explicit
`--python`, a virtualenv inside the project, the Poetry or Pipenv environment the project declares, the
virtualenv the user activated, and only then the agent's own interpreter (said so in the reason).
Whether the chosen interpreter can import Django is learned by the discovery probe, not here, so
discovery costs one subprocess.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from pydantic import BaseModel

from tools.django_celery.discovery_error import DiscoveryError

VENV_DIR_NAMES = (".venv", "venv", "env", ".env")
_VENV_PYTHONS = ("bin/python", "bin/python3", "Scripts/python.exe")
_TOOL_TIMEOUT = 30.0


class InterpreterChoice(BaseModel):
    """The interpreter picked for the project, and why (shown to the user and kept in ProjectFacts)."""

    path: Path  # absolute, not symlink-resolved: a venv's bin/python must stay the venv's
    reason: str
    last_resort: bool = False  # the agent's own interpreter, because nothing better was found


def venv_python(venv_dir: Path) -> Path | None:
    """The python of a virtualenv folder (one with pyvenv.cfg), or None when it is not one."""
    if not (venv_dir / "pyvenv.cfg").is_file():
        return None
    return next((venv_dir / rel for rel in _VENV_PYTHONS if (venv_dir / rel).exists()), None)


def find_interpreter(
    root: Path, python: str | os.PathLike[str] | None = None, base_dir: Path | None = None
) -> InterpreterChoice:
    """Pick the project's interpreter; `base_dir` is the folder holding manage.py when it is not `root`."""
    if python is not None:
        return _explicit(Path(python))
    folders = list(dict.fromkeys([Path(root), Path(base_dir or root)]))
    for folder in folders:
        for name in VENV_DIR_NAMES:
            found = venv_python(folder / name)
            if found is not None:
                where = os.path.relpath(folder / name, root)
                return InterpreterChoice(path=found.absolute(), reason=f"virtualenv {where}/ in the project")
    for folder in folders:
        choice = _poetry(folder) or _pipenv(folder)
        if choice is not None:
            return choice
    active = os.environ.get("VIRTUAL_ENV")
    if active and Path(active).resolve() != Path(sys.prefix).resolve():
        found = venv_python(Path(active))
        if found is not None:
            return InterpreterChoice(path=found, reason=f"the activated virtualenv $VIRTUAL_ENV ({active})")
    return InterpreterChoice(
        path=Path(sys.executable),
        last_resort=True,
        reason=(
            "no virtualenv (.venv, venv, env) in the project and no Poetry or Pipenv environment found, so "
            "the agent's own interpreter is used as the last resort; pass --python to use another"
        ),
    )


def _explicit(python: Path) -> InterpreterChoice:
    path = python.expanduser().absolute()
    if path.is_dir():
        found = venv_python(path)
        if found is None:
            raise DiscoveryError(
                f"--python {python} is a folder but not a virtualenv (no pyvenv.cfg). "
                "Pass the interpreter itself, e.g. --python /path/to/venv/bin/python."
            )
        path = found
    if not path.is_file() or not os.access(path, os.X_OK):
        raise DiscoveryError(
            f"--python {python}: no executable interpreter at {path}. "
            "Pass the path of the python your project runs with (e.g. .venv/bin/python)."
        )
    return InterpreterChoice(path=path, reason="given with --python")


def _poetry(folder: Path) -> InterpreterChoice | None:
    pyproject = folder / "pyproject.toml"
    if not pyproject.is_file() or shutil.which("poetry") is None:
        return None
    try:
        if "poetry" not in tomllib.loads(pyproject.read_text()).get("tool", {}):
            return None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    return _ask_tool(["poetry", "env", "info", "-p"], folder, "the Poetry environment (poetry env info -p)")


def _pipenv(folder: Path) -> InterpreterChoice | None:
    if not (folder / "Pipfile").is_file() or shutil.which("pipenv") is None:
        return None
    return _ask_tool(["pipenv", "--venv"], folder, "the Pipenv environment (pipenv --venv)")


def _ask_tool(command: list[str], cwd: Path, reason: str) -> InterpreterChoice | None:
    """Run a environment manager's "where is your venv" command; None when it has no environment."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PIPENV_VERBOSITY="-1", NO_COLOR="1")
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=_TOOL_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return None
    found = venv_python(Path(lines[-1].strip()))
    return InterpreterChoice(path=found, reason=reason) if found is not None else None
