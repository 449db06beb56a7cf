"""Fixture recipes for layouts first met in public projects, each reproducing a failure class seen there.

- `cookiecutter_celery` — cookiecutter-django with its Celery app: `config/celery_app.py` (not
  `celery.py`), `CELERY_BROKER_URL = CELERY_RESULT_BACKEND = REDIS_URL`, eager mode in local.py, a
  `setup_logging` receiver applying the project's LOGGING (root at INFO, so beat's DEBUG lines vanish),
  django-celery-beat, and a sample task sent only from a test (as 347S25/base347_celery).
- `tasks_app` — the Celery app in an installed app's package (`myproj/tasks/celery.py`, loaded by
  `myproj/tasks/__init__.py`), settings split into `config/settings/celery.py` star-imported by
  `config/django/base.py`, `env` imported from `config/env.py`, RabbitMQ's `guest:guest` default, and a
  tasks.py that re-exports a task built by a project decorator (as HackSoftware/Django-Styleguide-Example).
- `no_settings_default` — manage.py sets no DJANGO_SETTINGS_MODULE; pytest.ini names it.
- `env_required` — settings that crash without an environment variable the project's sample env file
  provides (`os.environ.get("X").split()`, as testdrivenio/django-on-docker); the case passes --env-file.
- `other_queue` — another task queue's `tasks.py` (plain functions django-q's `async_task` runs, its
  `Q_CLUSTER` settings) in the app with models, a second app without one, and no database file yet (as
  vulnman/vulnman): Celery's tasks go to the free app, the other queue's module is left alone, and the
  database the run creates is one undo removes.
- `config_layer` — an existing Celery app in `mysite/celery_app.py` that the package `__init__` does not
  load, its broker and backend read through the project's own configuration layer (`config.get(...)` of
  a configparser fed by MYSITE_* variables) only when a broker is configured, eager mode as the fallback,
  and a task sent with `apply_async()` from a signal receiver (as pretalx/pretalx): not hard-coded, the
  unsafe send reported (no consent), nothing shadowed.
- `decouple_env` — a settings package (base, local, tests) read through python-decouple from a `.env` the
  developer copied from `.env.example`, an app nested in the project package (`mysite/apps/library`) with a
  tests/ package and a model whose `save()` saves twice (its slug needs the new primary key, so
  `objects.create()`'s `force_insert=True` inserts it twice), and black and flake8 at 119 beside ruff's
  isort at its own default of 88 (as vitorfs/parsifal): the generated test makes its row with `save()`,
  its imports wrapped where ruff wraps them.
"""

from __future__ import annotations

import re
from pathlib import Path

from agent.demo import make_sample_project
from agent.evals.fixture_tools import list_app, manage, nested_app, set_settings_module, split_settings

COOKIECUTTER_CELERY_APP = """import os

from celery import Celery
from celery.signals import setup_logging

# set the default Django settings module for the 'celery' program.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("myproj")

# namespace='CELERY' means all celery-related configuration keys should have a `CELERY_` prefix.
app.config_from_object("django.conf:settings", namespace="CELERY")


@setup_logging.connect
def config_loggers(*args, **kwargs):
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


# Load task modules from all registered Django app configs.
app.autodiscover_tasks()
"""
COOKIECUTTER_CELERY_INIT = """__version__ = "0.1.0"

# This will make sure the app is always imported when Django starts so that shared_task will use this app.
from .celery_app import app as celery_app

__all__ = ("celery_app",)
"""
COOKIECUTTER_CELERY_SETTINGS = """
# LOGGING
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"verbose": {"format": "%(levelname)s %(asctime)s %(module)s %(message)s"}},
    "handlers": {"console": {"level": "DEBUG", "class": "logging.StreamHandler", "formatter": "verbose"}},
    "root": {"level": "INFO", "handlers": ["console"]},
}

# REDIS
REDIS_URL = env("REDIS_URL", default="redis://localhost:6379/0")

# CELERY
if USE_TZ:
    CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_RESULT_EXTENDED = True
CELERY_RESULT_BACKEND_ALWAYS_RETRY = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
"""
COOKIECUTTER_USERS_TASKS = '''from celery import shared_task

from .models import Profile


@shared_task()
def get_profiles_count():
    """A pointless Celery task to demonstrate usage."""
    return Profile.objects.count()
'''
COOKIECUTTER_USERS_TEST = """from celery.result import EagerResult
from django.test import TestCase

from myproj.users.tasks import get_profiles_count


class ProfilesCountTest(TestCase):
    def test_profiles_count(self):
        task_result = get_profiles_count.delay()
        assert isinstance(task_result, EagerResult)
        assert task_result.result == 0
"""


def cookiecutter_celery(dest: Path) -> Path:
    """cookiecutter-django as generated with Celery: the app in config/celery_app.py, Redis for both."""
    from agent.evals.layouts import cookiecutter  # the layout this one extends

    project = cookiecutter(dest)
    (project / "config" / "celery_app.py").write_text(COOKIECUTTER_CELERY_APP)
    (project / "config" / "__init__.py").write_text(COOKIECUTTER_CELERY_INIT)
    base = project / "config" / "settings" / "base.py"
    text = base.read_text().replace("THIRD_PARTY_APPS = []", 'THIRD_PARTY_APPS = ["django_celery_beat"]')
    base.write_text(text + COOKIECUTTER_CELERY_SETTINGS)
    local = project / "config" / "settings" / "local.py"
    local.write_text(
        local.read_text()
        + "\n# CELERY\nCELERY_TASK_ALWAYS_EAGER = True\nCELERY_TASK_EAGER_PROPAGATES = True\n"
    )
    users = project / "myproj" / "users"
    (users / "tasks.py").write_text(COOKIECUTTER_USERS_TASKS)
    (users / "tests.py").write_text(COOKIECUTTER_USERS_TEST)
    requirements = project / "requirements" / "base.txt"
    requirements.write_text(requirements.read_text() + "redis>=5\ncelery>=5.4,<6\ndjango-celery-beat>=2.6\n")
    manage(project, "migrate", "--noinput")
    return project


TASKS_APP_ENV = """import environ

env = environ.Env()

BASE_DIR = environ.Path(__file__) - 2
"""
TASKS_APP_CELERY_SETTINGS = """from config.env import env

# https://docs.celeryq.dev/en/stable/userguide/configuration.html

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="amqp://guest:guest@localhost//")
CELERY_RESULT_BACKEND = "django-db"

CELERY_TIMEZONE = "UTC"

CELERY_TASK_SOFT_TIME_LIMIT = 20  # seconds
CELERY_TASK_TIME_LIMIT = 30  # seconds
CELERY_TASK_MAX_RETRIES = 3
"""
TASKS_APP_CELERY = """import os

from celery import Celery

# set the default Django settings module for the 'celery' program.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.django.base")

app = Celery("myproj")

app.config_from_object("django.conf:settings", namespace="CELERY")

# Load task modules from all registered Django app configs.
app.autodiscover_tasks()
"""
TASKS_APP_INIT = 'from .celery import app as celery_app\n\n__all__ = ("celery_app",)\n'
TASKS_APP_TASKS = """from celery import shared_task


@shared_task
def debug_task():
    return "pong"
"""
WRAPPED_TASKS = '''from functools import wraps

from celery import shared_task


def logged_task(func):
    """The project's own task decorator: it builds the task with shared_task."""

    @wraps(func)
    def inner(*args, **kwargs):
        return func(*args, **kwargs)

    return shared_task(inner)


@logged_task
def count_polls():
    from polls.models import Question

    return Question.objects.count()
'''


def tasks_app(dest: Path) -> Path:
    """The Celery app inside an installed `myproj.tasks` app; Celery settings in their own module."""
    project = make_sample_project(dest, name="config")
    (project / "config" / "env.py").write_text(TASKS_APP_ENV)
    settings_dir = project / "config" / "settings"
    settings_dir.mkdir()
    (settings_dir / "__init__.py").write_text("")
    (settings_dir / "celery.py").write_text(TASKS_APP_CELERY_SETTINGS)
    django_dir = project / "config" / "django"
    django_dir.mkdir()
    (django_dir / "__init__.py").write_text("")
    base = (project / "config" / "settings.py").read_text()
    (project / "config" / "settings.py").unlink()
    base = base.replace(
        "BASE_DIR = Path(__file__).resolve().parent.parent",
        "BASE_DIR = Path(__file__).resolve().parent.parent.parent",
    )
    (django_dir / "base.py").write_text(base + "\nfrom config.settings.celery import *  # noqa\n")
    for entry in ("manage.py", "config/wsgi.py", "config/asgi.py"):
        file = project / entry
        file.write_text(file.read_text().replace("config.settings", "config.django.base"))
    package = project / "myproj"
    (package / "tasks").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "tasks" / "__init__.py").write_text(TASKS_APP_INIT)
    (package / "tasks" / "celery.py").write_text(TASKS_APP_CELERY)
    (package / "tasks" / "tasks.py").write_text(TASKS_APP_TASKS)
    (package / "tasks" / "apps.py").write_text(
        "from django.apps import AppConfig\n\n\nclass TasksConfig(AppConfig):\n"
        '    name = "myproj.tasks"\n    label = "tasks"\n'
    )
    jobs = project / "polls" / "jobs"
    jobs.mkdir()
    (jobs / "__init__.py").write_text("")
    (jobs / "tasks.py").write_text(WRAPPED_TASKS)
    (project / "polls" / "tasks.py").write_text("from polls.jobs.tasks import count_polls  # noqa: F401\n")
    settings = django_dir / "base.py"
    for app in ("myproj.tasks.apps.TasksConfig", "django_celery_results"):
        list_app(settings, app)
    (project / "requirements.txt").write_text(
        "Django>=5.2,<6\ndjango-environ>=0.11\ncelery>=5.4,<6\ndjango-celery-results>=2.5\n"
    )
    (project / ".gitignore").write_text("__pycache__/\n.env\ndb.sqlite3\n")
    (project / ".env.example").write_text("CELERY_BROKER_URL=amqp://localhost//\n")
    manage(project, "migrate", "--noinput")
    return project


def no_settings_default(dest: Path) -> Path:
    """startproject whose manage.py sets no settings module: pytest.ini names it, as pytest-django reads."""
    project = make_sample_project(dest)
    manage_py = project / "manage.py"
    text = manage_py.read_text()
    line = next(line for line in text.splitlines() if "DJANGO_SETTINGS_MODULE" in line)
    manage_py.write_text(text.replace(line + "\n", ""))
    (project / "pytest.ini").write_text("[pytest]\nDJANGO_SETTINGS_MODULE = mysite.settings\n")
    return project


def env_required(dest: Path) -> Path:
    """Settings that need DJANGO_ALLOWED_HOSTS set (None.split otherwise); .env.dev-sample provides it."""
    project = make_sample_project(dest)
    settings = project / "mysite" / "settings.py"
    text = settings.read_text().replace(
        "ALLOWED_HOSTS = []", 'ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS").split(" ")'
    )
    settings.write_text(text.replace("from pathlib import Path\n", "import os\nfrom pathlib import Path\n"))
    (project / ".env.dev-sample").write_text("DEBUG=1\nDJANGO_ALLOWED_HOSTS=localhost 127.0.0.1\n")
    return project


OTHER_QUEUE_TASKS = '''"""Background jobs, queued with django_q.tasks.async_task("polls.tasks.close_question", pk)."""

from polls.models import Question


def close_question(question_pk):
    return Question.objects.filter(pk=question_pk).update(question_text="closed")
'''
OTHER_QUEUE_SETTINGS = """
Q_CLUSTER = {"name": "mysite", "workers": 2, "timeout": 90, "retry": 120, "orm": "default"}
"""


def other_queue(dest: Path) -> Path:
    """polls/tasks.py belongs to django-q (plain functions); blog has no tasks.py; no db.sqlite3 yet."""
    project = make_sample_project(dest, apps=("polls", "blog"))
    (project / "polls" / "tasks.py").write_text(OTHER_QUEUE_TASKS)
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + OTHER_QUEUE_SETTINGS)
    return project


CONFIG_LAYER_READER = '''"""The project's configuration: an INI file, overridden by MYSITE_* environment variables."""

import configparser
import os


def build_config():
    config = configparser.RawConfigParser()
    config.read_dict({"celery": {"broker": "", "backend": ""}})
    config.read(os.environ.get("MYSITE_CONFIG_FILE", "mysite.cfg"))
    for key in ("broker", "backend"):
        value = os.environ.get(f"MYSITE_CELERY_{key.upper()}")
        if value:
            config.set("celery", key, value)
    return config
'''
CONFIG_LAYER_SETTINGS = """
from mysite.config import build_config

config = build_config()

## TASK RUNNER SETTINGS
if config.get("celery", "broker"):
    CELERY_BROKER_URL = config.get("celery", "broker")
    CELERY_RESULT_BACKEND = config.get("celery", "backend")
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CELERY_TASK_ALWAYS_EAGER = True
"""
CONFIG_LAYER_APP = """import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")

app = Celery("mysite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
"""
CONFIG_LAYER_TASKS = """from mysite.celery_app import app


@app.task(name="polls.count_questions")
def count_questions():
    from polls.models import Question

    return Question.objects.count()
"""
CONFIG_LAYER_SIGNALS = """from django.db.models.signals import post_save
from django.dispatch import receiver

from polls.models import Question
from polls.tasks import count_questions


@receiver(post_save, sender=Question)
def recount(sender, **kwargs):
    count_questions.apply_async()
"""


def config_layer(dest: Path) -> Path:
    """Celery configured through the project's own config layer, app in celery_app.py, a receiver's send."""
    project = make_sample_project(dest)
    (project / "mysite" / "config.py").write_text(CONFIG_LAYER_READER)
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + CONFIG_LAYER_SETTINGS)
    (project / "mysite" / "celery_app.py").write_text(CONFIG_LAYER_APP)
    (project / "polls" / "tasks.py").write_text(CONFIG_LAYER_TASKS)
    (project / "polls" / "signals.py").write_text(CONFIG_LAYER_SIGNALS)
    apps = project / "polls" / "apps.py"
    apps.write_text(
        apps.read_text() + "\n    def ready(self):\n        from polls import signals  # noqa: F401\n"
    )
    (project / "requirements.txt").write_text("Django>=5.2,<6\ncelery>=5.4,<6\n")
    return project


DECOUPLE_ENV_EXAMPLE = """DEBUG=True
SECRET_KEY=s3cr3t
ALLOWED_HOSTS=*
"""
DECOUPLE_ENV = DECOUPLE_ENV_EXAMPLE.replace("s3cr3t", "dev-placeholder")
DECOUPLE_LOCAL = """from .base import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
"""
DECOUPLE_TESTS = """from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
"""
SHARED_FOLDER_MODELS = """from django.db import models
from django.utils.text import slugify


class SharedFolder(models.Model):
    name = models.CharField(max_length=50)
    slug = models.SlugField(max_length=255, null=True, blank=True)

    def save(self, *args, **kwargs):
        if not self.pk:
            super().save(*args, **kwargs)  # the slug is made from the primary key
        self.slug = slugify(f"{self.name} {self.pk}")
        super().save(*args, **kwargs)
"""
BLACK_AT_119 = '[tool.black]\nline-length = 119\n\n[tool.ruff.lint]\nextend-select = ["I"]\n'


def decouple_env(dest: Path) -> Path:
    """decouple settings from a .env, mysite/apps/library with a twice-saving model, black at 119."""
    project = make_sample_project(dest, apps=())
    folder = split_settings(project, "mysite", {"local.py": DECOUPLE_LOCAL, "tests.py": DECOUPLE_TESTS})
    base = folder / "base.py"
    text = base.read_text().replace(
        "from pathlib import Path\n", "from pathlib import Path\n\nfrom decouple import Csv, config\n"
    )
    text = re.sub(r"^SECRET_KEY = .*$", 'SECRET_KEY = config("SECRET_KEY")', text, flags=re.M)
    text = text.replace("DEBUG = True", 'DEBUG = config("DEBUG", default=False, cast=bool)')
    text = text.replace(
        "ALLOWED_HOSTS = []", 'ALLOWED_HOSTS = config("ALLOWED_HOSTS", default="", cast=Csv())'
    )
    base.write_text(text)
    entry_points = [project / "manage.py", project / "mysite" / "wsgi.py", project / "mysite" / "asgi.py"]
    set_settings_module(entry_points, "mysite.settings.local")
    nested_app(project, "mysite.apps.library", SHARED_FOLDER_MODELS)
    library = project / "mysite" / "apps" / "library"
    (library / "tests.py").unlink()
    (library / "tests").mkdir()
    (library / "tests" / "__init__.py").write_text("")
    list_app(base, "mysite.apps.library")
    (project / ".env.example").write_text(DECOUPLE_ENV_EXAMPLE)
    (project / ".env").write_text(DECOUPLE_ENV)  # `cp .env.example .env`, as its README says
    (project / "pyproject.toml").write_text(BLACK_AT_119)
    (project / "setup.cfg").write_text("[flake8]\nmax-line-length = 119\n")
    (project / "requirements.txt").write_text("Django>=5.2,<6\npython-decouple>=3.8\n")
    manage(project, "makemigrations", "library")
    return project
