"""Fixture recipes for the states projects are found in, beyond their layout.

- Celery already there: fully integrated by hand (the run must change nothing), or half done (celery.py
  without the package `__init__` import; CELERY_* settings without any Celery app; a broker URL written in
  the settings as a literal).
- Dependencies kept elsewhere: Poetry, Pipfile, uv (with the in-project `.venv` those tools make).
- A PostgreSQL database (a uniquely named one, dropped by `release_fixture`).
- The project's own test suite (for `--project-tests`).
- Another interpreter: Django 4.2 in a virtualenv built from the package registry once and cached under
  the state home; a `.venv` with Django only (celery missing, for `--install-deps`).
"""

from __future__ import annotations

from pathlib import Path

from agent.demo import make_sample_project
from agent.evals.fixture_databases import HOST, PORT, USER, create_database
from agent.evals.fixture_tools import (
    add_import_os,
    cached_venv,
    copy_venv,
    linked_venv,
    list_app,
    manage,
)

# ----- Celery already there ----------------------------------------------------------------------------
FULL_CELERY_MODULE = '''"""Celery for mysite: `celery -A mysite worker -l info` from the folder with manage.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")

app = Celery("mysite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
'''

INIT_LOADS_APP = 'from .celery import app as celery_app\n\n__all__ = ("celery_app",)\n'

FULL_SETTINGS_BLOCK = """
# Celery
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0")
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_RESULT_EXPIRES = 7 * 24 * 3600
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
"""

EXISTING_TASKS = """from functools import partial

from celery import shared_task
from celery.utils.log import get_task_logger
from django.db import transaction

from .models import Question

logger = get_task_logger(__name__)


@shared_task(name="polls.tasks.count_questions")
def count_questions():
    return Question.objects.count()


@shared_task(name="polls.tasks.close_question", soft_time_limit=30, time_limit=60)
def close_question(pk):
    logger.info("closing question %s", pk)
    Question.objects.filter(pk=pk).update(question_text="closed")


def queue_close(pk):
    transaction.on_commit(partial(close_question.delay, pk))
"""

FULL_REQUIREMENTS = "Django>=5.2,<6\ncelery[redis]>=5.4,<6\ndjango-celery-results>=2.5\n"
FULL_ENV_EXAMPLE = "# Celery\nCELERY_BROKER_URL=redis://localhost:6379/0\n"
FULL_README = """# mysite

Polls, with background work in Celery.

## Celery

Run a worker next to the web server, from the folder with manage.py:

    celery -A mysite worker -l info

Set CELERY_BROKER_URL (see .env.example). Task results are kept in the database (django-celery-results).
"""
FULL_GITIGNORE = "__pycache__/\ndb.sqlite3\n.env\n.env.*\n!.env.example\ncelerybeat-schedule*\n"


def existing_full(dest: Path) -> Path:
    """Celery integrated completely by hand (Celery's Django guide plus production settings), migrated."""
    project = make_sample_project(dest)
    (project / "mysite" / "celery.py").write_text(FULL_CELERY_MODULE)
    (project / "mysite" / "__init__.py").write_text(INIT_LOADS_APP)
    settings = project / "mysite" / "settings.py"
    add_import_os(settings)
    list_app(settings, "django_celery_results")
    settings.write_text(settings.read_text() + FULL_SETTINGS_BLOCK)
    (project / "polls" / "tasks.py").write_text(EXISTING_TASKS)
    (project / "requirements.txt").write_text(FULL_REQUIREMENTS)
    (project / ".env.example").write_text(FULL_ENV_EXAMPLE)
    (project / ".gitignore").write_text(FULL_GITIGNORE)
    (project / "README.md").write_text(FULL_README)
    manage(project, "migrate", "--noinput")
    return project


def half_no_init(dest: Path) -> Path:
    """celery.py written, but the package `__init__` never imports it (shared tasks bind to a default app)."""
    project = make_sample_project(dest)
    (project / "mysite" / "celery.py").write_text(FULL_CELERY_MODULE)
    settings = project / "mysite" / "settings.py"
    add_import_os(settings)
    settings.write_text(
        settings.read_text()
        + '\n# Celery\nCELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0")\n'
    )
    (project / "requirements.txt").write_text("Django>=5.2,<6\ncelery[redis]>=5.4,<6\n")
    return project


def half_settings_only(dest: Path) -> Path:
    """CELERY_* settings and the results app configured, but no Celery app module anywhere."""
    project = make_sample_project(dest)
    settings = project / "mysite" / "settings.py"
    add_import_os(settings)
    list_app(settings, "django_celery_results")
    settings.write_text(
        settings.read_text()
        + "\n# Celery (the worker setup is still to do)\n"
        + 'CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0")\n'
        + 'CELERY_RESULT_BACKEND = "django-db"\n'
    )
    return project


def literal_urls(dest: Path) -> Path:
    """A development default written in the settings, as real projects ship it: every run used to fail item 9
    on the user's own line (reported now; read from the environment with --env-urls)."""
    project = make_sample_project(dest)
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + 'CELERY_BROKER_URL = "redis://localhost:6379/0"\n')
    return project


# ----- dependencies kept elsewhere ----------------------------------------------------------------------
POETRY_PYPROJECT = """[tool.poetry]
name = "mysite"
version = "0.1.0"
description = "Polls"
authors = ["Polls Team <team@example.com>"]
package-mode = false

[tool.poetry.dependencies]
python = "^3.11"
django = "^5.2"

[tool.poetry.group.dev.dependencies]
ruff = "^0.6"

[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
"""

PIPFILE = """[[source]]
url = "https://pypi.org/simple"
verify_ssl = true
name = "pypi"

[packages]
django = "~=5.2"

[dev-packages]
ruff = "*"

[requires]
python_version = "3.11"
"""

UV_PYPROJECT = """[project]
name = "mysite"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = [
    "django>=5.2,<6",
]

[dependency-groups]
dev = ["ruff>=0.6"]
"""

UV_LOCK = """version = 1
requires-python = ">=3.11"

[[package]]
name = "mysite"
version = "0.1.0"
source = { virtual = "." }
"""


def poetry(dest: Path) -> Path:
    """Poetry project: dependencies in [tool.poetry.dependencies], its in-project `.venv` (poetry.toml)."""
    project = make_sample_project(dest)
    (project / "pyproject.toml").write_text(POETRY_PYPROJECT)
    (project / "poetry.toml").write_text("[virtualenvs]\nin-project = true\n")
    linked_venv(project / ".venv")
    return project


def pipfile(dest: Path) -> Path:
    """Pipenv project: dependencies in the Pipfile's [packages], PIPENV_VENV_IN_PROJECT's `.venv`."""
    project = make_sample_project(dest)
    (project / "Pipfile").write_text(PIPFILE)
    linked_venv(project / ".venv")
    return project


def uv(dest: Path) -> Path:
    """uv project: PEP 621 dependencies, a uv.lock and uv's `.venv`."""
    project = make_sample_project(dest)
    (project / "pyproject.toml").write_text(UV_PYPROJECT)
    (project / "uv.lock").write_text(UV_LOCK)
    linked_venv(project / ".venv")
    return project


# ----- PostgreSQL ---------------------------------------------------------------------------------------
POSTGRES_DATABASES = """DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("POSTGRES_DB", "%(name)s"),
        "USER": os.environ.get("POSTGRES_USER", "%(user)s"),
        "HOST": os.environ.get("POSTGRES_HOST", "%(host)s"),
        "PORT": os.environ.get("POSTGRES_PORT", "%(port)s"),
    }
}"""


def postgres(dest: Path) -> Path:
    """startproject on PostgreSQL: a new database on 127.0.0.1:5432, named in settings, already migrated."""
    project = make_sample_project(dest)
    name = create_database(project)
    settings = project / "mysite" / "settings.py"
    add_import_os(settings)
    text = settings.read_text()
    start = text.index("DATABASES = {")
    end = text.index("\n}\n", start) + 2
    values = {"name": name, "user": USER, "host": HOST, "port": PORT}
    settings.write_text(text[:start] + POSTGRES_DATABASES % values + text[end:])
    (project / "requirements.txt").write_text("Django>=5.2,<6\npsycopg[binary]>=3.1\n")
    manage(project, "migrate", "--noinput")
    return project


# ----- the project's own tests --------------------------------------------------------------------------
POLLS_TESTS = """import datetime

from django.test import TestCase, TransactionTestCase
from django.utils import timezone

from .models import Choice, Question


class QuestionTests(TestCase):
    def test_str_is_the_text(self):
        question = Question(question_text="What's new?", pub_date=timezone.now())
        self.assertEqual(str(question), "What's new?")

    def test_choices_are_counted(self):
        question = Question.objects.create(question_text="Q", pub_date=timezone.now())
        Choice.objects.create(question=question, choice_text="A")
        Choice.objects.create(question=question, choice_text="B")
        self.assertEqual(question.choice_set.count(), 2)

    def test_old_questions_are_ordered_first(self):
        old = timezone.now() - datetime.timedelta(days=30)
        Question.objects.create(question_text="new", pub_date=timezone.now())
        Question.objects.create(question_text="old", pub_date=old)
        first = Question.objects.order_by("pub_date").first()
        self.assertEqual(first.question_text, "old")


class VoteTests(TransactionTestCase):
    def test_votes_start_at_zero(self):
        question = Question.objects.create(question_text="Q", pub_date=timezone.now())
        choice = Choice.objects.create(question=question, choice_text="A")
        self.assertEqual(choice.votes, 0)
"""


def with_tests(dest: Path) -> Path:
    """startproject whose polls app has its own Django test suite (TestCase and TransactionTestCase)."""
    project = make_sample_project(dest)
    (project / "polls" / "tests.py").write_text(POLLS_TESTS)
    return project


# ----- other interpreters -------------------------------------------------------------------------------
DJANGO42_PACKAGES = [
    "Django>=4.2,<5",
    "celery[redis]>=5.4,<6",
    "django-celery-results>=2.5,<3",
    "django-celery-beat>=2.6,<3",
]
DJANGO_ONLY_PACKAGES = ["Django>=5.2,<6"]


def django42(dest: Path) -> Path:
    """startproject made by Django 4.2 in its own virtualenv; the project's `.venv` links to it."""
    venv = cached_venv("django42", DJANGO42_PACKAGES)
    project = make_sample_project(dest, python=venv / "bin" / "python")
    (project / ".venv").symlink_to(venv, target_is_directory=True)
    (project / "requirements.txt").write_text("Django>=4.2,<5\n")
    return project


def bare_venv(dest: Path) -> Path:
    """A project whose own `.venv` has Django only: celery and the results app are missing there."""
    venv = cached_venv("django52-only", DJANGO_ONLY_PACKAGES)
    dest.mkdir(parents=True, exist_ok=True)
    python = copy_venv(venv, dest / ".venv")
    project = make_sample_project(dest, python=python)
    (project / "requirements.txt").write_text("Django>=5.2,<6\n")
    return project
