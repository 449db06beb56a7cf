"""Helpers shared by the tool tests: a ToolContext on a real project, snapshots, facts for a startproject."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tools.context import ToolContext
from tools.django_celery.facts import ProjectFacts
from tools.journal import Journal


def make_ctx(project: Path, tmp_path: Path, **options: Any) -> ToolContext:
    journal = Journal.start(project, "test-run", home=tmp_path / "state")
    return ToolContext(project_root=project.resolve(), journal=journal, **options)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file's bytes, keyed by project-relative path (folders show up as their files)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def folders(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir()}


# What an uninterrupted offline run changes in `startproject mysite` + `startapp polls`.
CHANGED_BY_A_RUN = frozenset(
    {
        "mysite/celery.py",
        "mysite/__init__.py",
        "mysite/settings.py",
        "polls/tasks.py",
        "polls/test_tasks.py",
        "CELERY.md",
        "requirements.txt",
        ".env.example",
        ".gitignore",
        "db.sqlite3",
    }
)


def startproject_facts(project: Path) -> ProjectFacts:
    """What discovery reports for the `startproject mysite` fixture (written out, discovery is not under test)."""
    return ProjectFacts(
        root=str(project.resolve()),
        manage_py="manage.py",
        base_dir=".",
        settings_module="mysite.settings",
        settings_files=["mysite/settings.py"],
        installed_apps_file="mysite/settings.py",
        celery_settings_file="mysite/settings.py",
        project_package="mysite",
        project_package_dir="mysite",
        interpreter=sys.executable,
        django_version="5.2",
        database_engine="django.db.backends.sqlite3",
        database_name=str(project.resolve() / "db.sqlite3"),
    )
