"""Shared fixtures: real startproject projects, built once per session and copied per test."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.projects import make_startproject


@pytest.fixture(scope="session")
def startproject_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`startproject mysite` + `startapp polls` (with models and migrations), built once."""
    return make_startproject(tmp_path_factory.mktemp("template") / "mysite")


@pytest.fixture
def startproject(startproject_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the startproject template that a test may change freely."""
    return Path(shutil.copytree(startproject_template, tmp_path / "mysite", symlinks=True))


@pytest.fixture
def copy_project(tmp_path: Path) -> Callable[[Path, str], Path]:
    """Copy any template project into this test's tmp folder."""

    def _copy(template: Path, name: str = "project") -> Path:
        return Path(shutil.copytree(template, tmp_path / name, symlinks=True))

    return _copy


@pytest.fixture(autouse=True)
def _isolated_state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Journals, transcripts and caches of a test go to its tmp folder, never to the real home."""
    monkeypatch.setenv("DJANGO_INTEGRATOR_HOME", str(tmp_path / "state"))
