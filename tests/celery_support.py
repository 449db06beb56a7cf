"""Helpers for the codemod, setup-command and checks tests: real projects, contexts, subprocess checks.

Layouts come from tests/layouts.py (discovery's real-world shapes) plus the states a Celery integration can
be found in: complete, half-done. Each template is built once per session and copied per test.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.layouts import LAYOUTS
from tests.projects import make_startproject
from tools.context import ToolContext
from tools.django_celery.discovery import discover_project
from tools.django_celery.facts import ProjectFacts
from tools.django_celery.project_env import run_manage
from tools.journal import Journal

RUFF = Path(sys.executable).parent / "ruff"

Snapshot = dict[str, bytes | None]

FULL_CELERY_MODULE = """import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")

app = Celery("mysite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
"""

FULL_SETTINGS_BLOCK = """
# Celery
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0")
CELERY_RESULT_BACKEND = "django-db"
CELERY_TASK_ALWAYS_EAGER = False
"""

EXISTING_TASKS = """from celery import shared_task
from django.db import transaction

from .models import Question


@shared_task
def close_question(pk):
    Question.objects.filter(pk=pk).update(question_text="closed")


def queue_close(pk):
    transaction.on_commit(lambda: close_question.delay(pk))
"""

LEGACY_CELERY_MODULE = """from __future__ import absolute_import, unicode_literals
import os
from celery import Celery
from django.conf import settings

app = Celery('mysite')

os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')
app.config_from_object('django.conf:settings')
app.autodiscover_tasks(lambda: settings.INSTALLED_APPS)


@app.task(bind=True)
def debug_task(self):
    print('Request: {0!r}'.format(self.request))
"""


def snapshot(root: Path) -> Snapshot:
    """Every path under root with its bytes (None for folders): equal snapshots = byte-identical trees."""
    return {
        p.relative_to(root).as_posix(): None if p.is_dir() else p.read_bytes()
        for p in sorted(root.rglob("*"))
    }


def add_import_os(settings: Path) -> None:
    text = settings.read_text()
    settings.write_text(
        text.replace("from pathlib import Path\n", "import os\nfrom pathlib import Path\n", 1)
    )


def make_existing_celery(dest: Path) -> Path:
    """A project someone already integrated by hand: canonical app module, results app as an AppConfig."""
    project = make_startproject(dest)
    (project / "mysite" / "celery.py").write_text(FULL_CELERY_MODULE)
    (project / "mysite" / "__init__.py").write_text(
        'from .celery import app as celery_app\n\n__all__ = ("celery_app",)\n'
    )
    settings = project / "mysite" / "settings.py"
    add_import_os(settings)
    text = settings.read_text().replace(
        "INSTALLED_APPS = [\n",
        'INSTALLED_APPS = [\n    "django_celery_results.apps.CeleryResultConfig",\n',
        1,
    )
    settings.write_text(text + FULL_SETTINGS_BLOCK)
    (project / "polls" / "tasks.py").write_text(EXISTING_TASKS)
    (project / "requirements.txt").write_text("Django>=5.2\ncelery[redis]==5.7.0\ndjango_celery_results\n")
    return project


def make_half_done(dest: Path) -> Path:
    """A Celery 3-era integration left half-way: legacy celery.py, no __init__ import, old-style settings."""
    project = make_startproject(dest)
    (project / "mysite" / "celery.py").write_text(LEGACY_CELERY_MODULE)
    settings = project / "mysite" / "settings.py"
    add_import_os(settings)
    settings.write_text(
        settings.read_text() + '\nBROKER_URL = os.environ.get("BROKER_URL", "redis://localhost:6379/0")\n'
        "CELERY_ALWAYS_EAGER = False\n"
    )
    return project


BUILDERS: dict[str, Callable[[Path], Path]] = {
    **{name: layout.build for name, layout in LAYOUTS.items()},
    "existing_celery": make_existing_celery,
    "half_done": make_half_done,
}


@pytest.fixture(scope="session")
def project_template(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Build each project shape at most once per session."""
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            built[name] = BUILDERS[name](tmp_path_factory.mktemp(name) / "project")
        return built[name]

    return get


@pytest.fixture
def project_copy(project_template: Callable[[str], Path], tmp_path: Path) -> Callable[[str], Path]:
    """A fresh copy of a project shape that the test may change."""

    def copy(name: str) -> Path:
        return Path(shutil.copytree(project_template(name), tmp_path / name, symlinks=True))

    return copy


def context_for(project: Path, run_id: str = "run-1") -> ToolContext:
    """Discovery on the project (its real probe) and a fresh journal, as the agent's session sets them up."""
    facts = discover_project(project)
    return ToolContext(project_root=project.resolve(), journal=Journal.start(project, run_id), facts=facts)


def facts_of(ctx: ToolContext) -> ProjectFacts:
    assert ctx.facts is not None
    return ctx.facts


def manage_check(ctx: ToolContext) -> subprocess.CompletedProcess[str]:
    """`manage.py check` in the project's interpreter: Django (and the Celery app it imports) still loads."""
    return run_manage(facts_of(ctx), "check", timeout=120)


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    """ruff with its default rules and formatting (`--isolated`: not this repository's configuration)."""
    return subprocess.run([str(RUFF), *args, "--isolated"], capture_output=True, text=True, check=False)
