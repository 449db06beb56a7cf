"""Real Django projects for tests, made by `django-admin startproject` / `manage.py startapp`.

The recipe is the demo's own (`agent.demo.make_sample_project`), so tests and users start from the same
project. Building one costs about a second, so fixtures build each recipe once per session and copy it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from agent.demo import POLLS_MODELS, make_sample_project

__all__ = ["POLLS_MODELS", "make_startproject", "run"]


def run(args: list[str], cwd: Path) -> None:
    """Run a command for a fixture (no bytecode written), failing loudly with its output."""
    env = {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
    }
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True, env=env)


def make_startproject(dest: Path, name: str = "mysite", apps: tuple[str, ...] = ("polls",)) -> Path:
    """`django-admin startproject <name> dest`, then `startapp` per app; the first app gets models."""
    return make_sample_project(dest, name, apps)
