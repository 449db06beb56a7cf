"""Fixture recipes for eval cases: each builds a real Django project layout into an empty folder.

Every recipe starts from `django-admin startproject` / `manage.py startapp` (the demo's own builder) and
reshapes it the way common public layouts do — settings packages, cookiecutter-django, `src/`, settings
read through django-environ / python-decouple / os.environ, INSTALLED_APPS as a tuple extended with `+=`,
apps in nested packages — so cases exercise the layouts people really have. Recipes for projects that
already have (part of) Celery, keep dependencies elsewhere, use PostgreSQL, carry their own tests or run on
another Django are in `agent.evals.layout_states`, layouts first met in public projects in
`agent.evals.layout_wild`; `LAYOUTS` maps every recipe name to its builder.

A recipe returns the project root to integrate. Recipes that create something outside the folder (a
PostgreSQL database) are undone by `release_fixture(root)`, which eval runs call when a case ends.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from agent.demo import make_sample_project
from agent.evals import layout_states, layout_wild
from agent.evals.fixture_databases import release_fixture
from agent.evals.fixture_tools import (
    django_admin,
    list_app,
    manage,
    nested_app,
    set_settings_module,
    split_settings,
)

Recipe = Callable[[Path], Path]  # build into the given folder, return the project root to integrate

DEV_SETTINGS = """from .base import *  # noqa: F403

DEBUG = True
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
"""

PROD_SETTINGS = """import os

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",")
"""

PROFILE_MODELS = """from django.conf import settings
from django.db import models


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    bio = models.TextField(blank=True)
"""

ORDER_MODELS = """from django.db import models


class Order(models.Model):
    customer_email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=40)
    quantity = models.PositiveIntegerField(default=1)
"""


def startproject(dest: Path) -> Path:
    """`startproject mysite` + `startapp polls` with the tutorial's models: the demo project."""
    return make_sample_project(dest)


def settings_package(dest: Path) -> Path:
    """mysite/settings/{__init__,base,dev,prod}.py; manage.py -> dev, wsgi/asgi -> prod."""
    project = make_sample_project(dest)
    split_settings(project, "mysite", {"dev.py": DEV_SETTINGS, "prod.py": PROD_SETTINGS})
    set_settings_module([project / "manage.py"], "mysite.settings.dev")
    set_settings_module(
        [project / "mysite" / "wsgi.py", project / "mysite" / "asgi.py"], "mysite.settings.prod"
    )
    return project


COOKIECUTTER_BASE = '''"""Base settings to build other settings files upon."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve(strict=True).parent.parent.parent
APPS_DIR = BASE_DIR / "myproj"
env = environ.Env()

READ_DOT_ENV_FILE = env.bool("DJANGO_READ_DOT_ENV_FILE", default=False)
if READ_DOT_ENV_FILE:
    env.read_env(str(BASE_DIR / ".env"))

# GENERAL
DEBUG = env.bool("DJANGO_DEBUG", False)
TIME_ZONE = "America/Chicago"
LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True

# DATABASES
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# URLS
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

# APPS
DJANGO_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.admin",
]
THIRD_PARTY_APPS = []
LOCAL_APPS = [
    "myproj.users.apps.UsersConfig",
]
# https://docs.djangoproject.com/en/dev/ref/settings/#installed-apps
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

# MIDDLEWARE
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# STATIC
STATIC_ROOT = str(BASE_DIR / "staticfiles")
STATIC_URL = "/static/"

# TEMPLATES
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [str(APPS_DIR / "templates")],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
'''

COOKIECUTTER_LOCAL = """from .base import *  # noqa: F403
from .base import INSTALLED_APPS
from .base import env

# GENERAL
DEBUG = True
SECRET_KEY = env("DJANGO_SECRET_KEY", default="myproj_local_your_key_here")
ALLOWED_HOSTS = ["localhost", "0.0.0.0", "127.0.0.1"]

# django-extensions stands here in the real template; admindocs needs nothing installed
INSTALLED_APPS += ["django.contrib.admindocs"]
"""

COOKIECUTTER_PRODUCTION = """from .base import *  # noqa: F403
from .base import DATABASES
from .base import env

# GENERAL
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["example.com"])
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
"""


def cookiecutter(dest: Path) -> Path:
    """cookiecutter-django: config/settings/{base,local,production}.py, django-environ, apps in myproj/."""
    dest.mkdir(parents=True, exist_ok=True)
    django_admin(["startproject", "config", str(dest)], cwd=dest)
    (dest / "myproj").mkdir()
    (dest / "myproj" / "__init__.py").write_text('__version__ = "0.1.0"\n')
    nested_app(dest, "myproj.users", PROFILE_MODELS)
    split_settings(
        dest,
        "config",
        {
            "local.py": COOKIECUTTER_LOCAL,
            "production.py": COOKIECUTTER_PRODUCTION,
            "test.py": COOKIECUTTER_LOCAL,
        },
    )
    (dest / "config" / "settings" / "base.py").write_text(COOKIECUTTER_BASE)
    set_settings_module([dest / "manage.py", dest / "config" / "asgi.py"], "config.settings.local")
    set_settings_module([dest / "config" / "wsgi.py"], "config.settings.production")
    (dest / "requirements").mkdir()
    (dest / "requirements" / "base.txt").write_text("django>=5.2,<6\ndjango-environ>=0.11\n")
    (dest / "requirements" / "local.txt").write_text("-r base.txt\n")
    (dest / "requirements" / "production.txt").write_text("-r base.txt\ngunicorn\n")
    (dest / "setup.cfg").write_text("[flake8]\nmax-line-length = 120\nexclude = .tox,.git,*/migrations/*\n")
    manage(dest, "makemigrations", "users")
    return dest


SRC_PYPROJECT = """[project]
name = "mysite"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["django>=5.2,<6"]
"""


def src_layout(dest: Path) -> Path:
    """src/ layout: README and pyproject.toml at the root, manage.py and every package under src/."""
    dest.mkdir(parents=True, exist_ok=True)
    make_sample_project(dest / "src")
    (dest / "README.md").write_text("# mysite\n\nRun `python src/manage.py runserver`.\n")
    (dest / "pyproject.toml").write_text(SRC_PYPROJECT)
    return dest


def env_settings(dest: Path) -> Path:
    """settings read through python-decouple `config(...)` and `os.environ.get(...)`."""
    project = make_sample_project(dest)
    settings = project / "mysite" / "settings.py"
    text = settings.read_text()
    text = text.replace(
        "from pathlib import Path\n",
        "import os\nfrom pathlib import Path\n\nfrom decouple import Csv, config\n",
    )
    text = re.sub(
        r"^SECRET_KEY = .*$",
        'SECRET_KEY = config("SECRET_KEY", default="mysite_dev_your_key_here")',
        text,
        flags=re.M,
    )
    text = text.replace("DEBUG = True", 'DEBUG = config("DEBUG", default=True, cast=bool)')
    text = text.replace(
        "ALLOWED_HOSTS = []",
        'ALLOWED_HOSTS = config("ALLOWED_HOSTS", default="localhost,127.0.0.1", cast=Csv())',
    )
    text = text.replace("BASE_DIR / 'db.sqlite3'", "os.environ.get('SQLITE_PATH', BASE_DIR / 'db.sqlite3')")
    text = text.replace("TIME_ZONE = 'UTC'", 'TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Paris")')
    settings.write_text(text)
    (project / "requirements.txt").write_text("Django>=5.2,<6\npython-decouple>=3.8\n")
    return project


TUPLE_DEV_SETTINGS = """from mysite.settings.base import *  # noqa: F403

DEBUG = True
INSTALLED_APPS += ("django.contrib.humanize",)
"""


def tuple_extended(dest: Path) -> Path:
    """INSTALLED_APPS a tuple in base.py, extended with `+= (...)` in dev.py (absolute star import)."""
    project = make_sample_project(dest)
    folder = split_settings(project, "mysite", {"dev.py": TUPLE_DEV_SETTINGS})
    base = folder / "base.py"
    text = base.read_text()
    start = text.index("INSTALLED_APPS = [")
    end = text.index("]\n", start)
    base.write_text(
        text[:start]
        + "INSTALLED_APPS = ("
        + text[start + len("INSTALLED_APPS = [") : end]
        + ")\n"
        + text[end + 2 :]
    )
    entry_points = [project / "manage.py", project / "mysite" / "wsgi.py", project / "mysite" / "asgi.py"]
    set_settings_module(entry_points, "mysite.settings.dev")
    return project


def nested_apps(dest: Path) -> Path:
    """apps in a nested package: apps.users and apps.orders, listed by their AppConfig dotted paths."""
    project = make_sample_project(dest, apps=())
    settings = project / "mysite" / "settings.py"
    nested_app(project, "apps.users", PROFILE_MODELS)
    nested_app(project, "apps.orders", ORDER_MODELS)
    list_app(settings, "apps.orders.apps.OrdersConfig")
    list_app(settings, "apps.users.apps.UsersConfig")
    manage(project, "makemigrations", "users", "orders")
    return project


SUBFOLDER_README = (
    "# shop\n\nThe Django backend lives in `backend/`: `cd backend && python manage.py runserver`.\n"
)


def subfolder(dest: Path) -> Path:
    """A repository whose Django project is one folder down (backend/manage.py), requirements at the root."""
    dest.mkdir(parents=True, exist_ok=True)
    make_sample_project(dest / "backend")
    (dest / "README.md").write_text(SUBFOLDER_README)
    (dest / "frontend").mkdir()
    (dest / "frontend" / "package.json").write_text('{"name": "shop-frontend", "private": true}\n')
    (dest / "requirements.txt").write_text("Django>=5.2,<6\n")
    return dest


LAYOUTS: dict[str, Recipe] = {
    "startproject": startproject,
    "settings_package": settings_package,
    "cookiecutter": cookiecutter,
    "src_layout": src_layout,
    "subfolder": subfolder,
    "env_settings": env_settings,
    "tuple_extended": tuple_extended,
    "nested_apps": nested_apps,
    "existing_full": layout_states.existing_full,
    "half_no_init": layout_states.half_no_init,
    "half_settings_only": layout_states.half_settings_only,
    "literal_urls": layout_states.literal_urls,
    "poetry": layout_states.poetry,
    "pipfile": layout_states.pipfile,
    "uv": layout_states.uv,
    "postgres": layout_states.postgres,
    "with_tests": layout_states.with_tests,
    "django42": layout_states.django42,
    "bare_venv": layout_states.bare_venv,
    "cookiecutter_celery": layout_wild.cookiecutter_celery,
    "tasks_app": layout_wild.tasks_app,
    "no_settings_default": layout_wild.no_settings_default,
    "env_required": layout_wild.env_required,
    "other_queue": layout_wild.other_queue,
    "config_layer": layout_wild.config_layer,
    "decouple_env": layout_wild.decouple_env,
}

__all__ = ["LAYOUTS", "Recipe", "release_fixture"]
