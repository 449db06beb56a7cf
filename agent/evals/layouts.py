"""Fixture recipes for eval cases: each builds a real Django project layout into an empty folder.

Every recipe starts from `django-admin startproject` / `manage.py startapp` (the demo's own builder) and
reshapes it the way common public layouts do, so cases exercise the layouts people really have.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agent.demo import make_sample_project

Recipe = Callable[[Path], Path]  # build into the given folder, return the project root to integrate


def startproject(dest: Path) -> Path:
    """`startproject mysite` + `startapp polls` with the tutorial's models: the demo project."""
    return make_sample_project(dest)


LAYOUTS: dict[str, Recipe] = {"startproject": startproject}
