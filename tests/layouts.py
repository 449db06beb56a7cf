"""Real-world Django project layouts, hand-written after public ones, each built on startproject/startapp.

Discovery must handle more than `startproject`: settings packages, cookiecutter-django, `src/` layouts,
settings read through python-decouple or django-environ, tuples extended with `+=`, apps in nested packages.
Each builder makes one such project at `dest` and returns its root; `LAYOUTS` maps a short name to its
builder and to what discovery is expected to find there (eval cases reuse both).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.projects import make_startproject, run

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


def django_admin(args: list[str], cwd: Path) -> None:
    run([sys.executable, "-m", "django", *args], cwd=cwd)


def set_settings_module(files: list[Path], module: str) -> None:
    """Point the `setdefault("DJANGO_SETTINGS_MODULE", ...)` line of each file at `module`."""
    for file in files:
        text = file.read_text()
        file.write_text(
            re.sub(r"(setdefault\('DJANGO_SETTINGS_MODULE', ')[\w.]+(')", rf"\g<1>{module}\2", text)
        )


def split_settings(project: Path, package: str, files: dict[str, str]) -> Path:
    """Turn `<package>/settings.py` into a package whose `base.py` is the old file (BASE_DIR one level up)."""
    settings = project / package / "settings.py"
    folder = project / package / "settings"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    base = settings.read_text().replace(
        "BASE_DIR = Path(__file__).resolve().parent.parent",
        "BASE_DIR = Path(__file__).resolve().parent.parent.parent",
    )
    (folder / "base.py").write_text(base)
    settings.unlink()
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def nested_app(project: Path, dotted: str, models: str) -> None:
    """`startapp` into a nested package (e.g. apps/users for "apps.users") and name it by its dotted path."""
    folder = project.joinpath(*dotted.split("."))
    folder.mkdir(parents=True)
    for parent in list(folder.parents)[: len(dotted.split(".")) - 1]:
        (parent / "__init__.py").touch()
    django_admin(["startapp", dotted.rsplit(".", 1)[-1], str(folder)], cwd=project)
    apps_py = folder / "apps.py"
    apps_py.write_text(re.sub(r"name = '\w+'", f"name = '{dotted}'", apps_py.read_text()))
    (folder / "models.py").write_text(models)


def list_app(settings_file: Path, entry: str) -> None:
    text = settings_file.read_text()
    settings_file.write_text(text.replace("INSTALLED_APPS = [\n", f'INSTALLED_APPS = [\n    "{entry}",\n', 1))


# ----- the layouts ----------------------------------------------------------------------------------------
def make_single_settings(dest: Path) -> Path:
    """1. `startproject mysite` + `startapp polls`: one settings.py."""
    return make_startproject(dest)


def make_settings_package(dest: Path) -> Path:
    """2. mysite/settings/{__init__,base,dev,prod}.py; manage.py -> dev, wsgi/asgi -> prod."""
    project = make_startproject(dest)
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


def make_cookiecutter(dest: Path) -> Path:
    """3. cookiecutter-django: config/settings/{base,local,production}.py, django-environ, apps in myproj/."""
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
    run([sys.executable, "manage.py", "makemigrations", "users"], cwd=dest)
    return dest


SRC_PYPROJECT = """[project]
name = "mysite"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["django>=5.2,<6"]
"""


def make_src_layout(dest: Path) -> Path:
    """4. src/ layout: README and pyproject.toml at the root, manage.py and every package under src/."""
    dest.mkdir(parents=True, exist_ok=True)
    make_startproject(dest / "src")
    (dest / "README.md").write_text("# mysite\n\nRun `python src/manage.py runserver`.\n")
    (dest / "pyproject.toml").write_text(SRC_PYPROJECT)
    return dest


def make_env_settings(dest: Path) -> Path:
    """5. settings read through python-decouple `config(...)` and `os.environ.get(...)`."""
    project = make_startproject(dest)
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


def make_tuple_extended(dest: Path) -> Path:
    """6. INSTALLED_APPS a tuple in base.py, extended with `+= (...)` in dev.py (absolute star import)."""
    project = make_startproject(dest)
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


def make_nested_apps(dest: Path) -> Path:
    """7. apps in a nested package: apps.users and apps.orders, listed by their AppConfig dotted paths."""
    project = make_startproject(dest, apps=())
    settings = project / "mysite" / "settings.py"
    nested_app(project, "apps.users", PROFILE_MODELS)
    nested_app(project, "apps.orders", ORDER_MODELS)
    list_app(settings, "apps.orders.apps.OrdersConfig")
    list_app(settings, "apps.users.apps.UsersConfig")
    run([sys.executable, "manage.py", "makemigrations", "users", "orders"], cwd=project)
    return project


@dataclass(frozen=True)
class Layout:
    """A layout's builder and what discovery must find in it (paths project-relative)."""

    build: Callable[[Path], Path]
    manage_py: str
    settings_module: str
    settings_files: list[str]
    installed_apps_file: str
    celery_settings_file: str
    project_package: str
    apps: dict[str, tuple[str, str, list[str]]]  # label -> (module, path, models)
    installed_apps_layout: str  # text the layout description starts with
    extra: dict[str, object] = field(default_factory=dict)  # other ProjectFacts fields -> expected value


LAYOUTS: dict[str, Layout] = {
    "single_settings": Layout(
        build=make_single_settings,
        manage_py="manage.py",
        settings_module="mysite.settings",
        settings_files=["mysite/settings.py"],
        installed_apps_file="mysite/settings.py",
        celery_settings_file="mysite/settings.py",
        project_package="mysite",
        apps={"polls": ("polls", "polls", ["Question", "Choice"])},
        installed_apps_layout="list literal in mysite/settings.py:",
    ),
    "settings_package": Layout(
        build=make_settings_package,
        manage_py="manage.py",
        settings_module="mysite.settings.dev",
        settings_files=["mysite/settings/dev.py", "mysite/settings/base.py"],
        installed_apps_file="mysite/settings/base.py",
        celery_settings_file="mysite/settings/base.py",
        project_package="mysite",
        apps={"polls": ("polls", "polls", ["Question", "Choice"])},
        installed_apps_layout="list literal in mysite/settings/base.py:",
    ),
    "cookiecutter": Layout(
        build=make_cookiecutter,
        manage_py="manage.py",
        settings_module="config.settings.local",
        settings_files=["config/settings/local.py", "config/settings/base.py"],
        installed_apps_file="config/settings/base.py",
        celery_settings_file="config/settings/base.py",
        project_package="config",
        apps={"users": ("myproj.users", "myproj/users", ["Profile"])},
        installed_apps_layout="concatenation of names [DJANGO_APPS, THIRD_PARTY_APPS, LOCAL_APPS]",
        extra={"time_zone": "America/Chicago"},
    ),
    "src_layout": Layout(
        build=make_src_layout,
        manage_py="src/manage.py",
        settings_module="mysite.settings",
        settings_files=["src/mysite/settings.py"],
        installed_apps_file="src/mysite/settings.py",
        celery_settings_file="src/mysite/settings.py",
        project_package="mysite",
        apps={"polls": ("polls", "src/polls", ["Question", "Choice"])},
        installed_apps_layout="list literal in src/mysite/settings.py:",
        extra={
            "base_dir": "src",
            "project_package_dir": "src/mysite",
            "dependency_files": ["pyproject.toml"],
        },
    ),
    "env_settings": Layout(
        build=make_env_settings,
        manage_py="manage.py",
        settings_module="mysite.settings",
        settings_files=["mysite/settings.py"],
        installed_apps_file="mysite/settings.py",
        celery_settings_file="mysite/settings.py",
        project_package="mysite",
        apps={"polls": ("polls", "polls", ["Question", "Choice"])},
        installed_apps_layout="list literal in mysite/settings.py:",
        extra={"time_zone": "Europe/Paris", "dependency_files": ["requirements.txt"]},
    ),
    "tuple_extended": Layout(
        build=make_tuple_extended,
        manage_py="manage.py",
        settings_module="mysite.settings.dev",
        settings_files=["mysite/settings/dev.py", "mysite/settings/base.py"],
        installed_apps_file="mysite/settings/base.py",
        celery_settings_file="mysite/settings/base.py",
        project_package="mysite",
        apps={"polls": ("polls", "polls", ["Question", "Choice"])},
        installed_apps_layout="tuple literal in mysite/settings/base.py:",
    ),
    "nested_apps": Layout(
        build=make_nested_apps,
        manage_py="manage.py",
        settings_module="mysite.settings",
        settings_files=["mysite/settings.py"],
        installed_apps_file="mysite/settings.py",
        celery_settings_file="mysite/settings.py",
        project_package="mysite",
        apps={
            "users": ("apps.users", "apps/users", ["Profile"]),
            "orders": ("apps.orders", "apps/orders", ["Order", "OrderLine"]),
        },
        installed_apps_layout="list literal in mysite/settings.py:",
    ),
}
