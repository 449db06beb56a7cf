"""The libcst / text codemods one by one: exact output on small files, real layouts, idempotency."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import libcst as cst
import pytest

from tests import celery_support
from tests.celery_support import ruff
from tools.base import ToolError
from tools.django_celery.codemods.celery_module import ensure_celery_module
from tools.django_celery.codemods.cst_tools import append_strings
from tools.django_celery.codemods.dependencies import (
    BEAT_REQUIREMENT,
    RESULTS_REQUIREMENT,
    celery_requirement,
    ensure_dependencies,
)
from tools.django_celery.codemods.env_files import ensure_env_example, ensure_gitignore
from tools.django_celery.codemods.init_module import ensure_init_loads_app
from tools.django_celery.codemods.installed_apps import ensure_installed_apps
from tools.django_celery.codemods.settings_block import (
    backend_settings,
    core_settings,
    ensure_settings_block,
    rename_old_style_settings,
)
from tools.django_celery.codemods.settings_chain import celery_file_chain
from tools.django_celery.codemods.tasks_module import ensure_tasks_module, roundtrip_task_name
from tools.django_celery.codemods.url_passwords import report_url_passwords, strip_url_passwords
from tools.django_celery.codemods.workspace import ProjectEdits
from tools.django_celery.discovery import discover_project
from tools.django_celery.facts import AppInfo, Decisions, ProjectFacts

project_template = celery_support.project_template  # fixtures
project_copy = celery_support.project_copy
WANTED = [celery_requirement(redis=True), RESULTS_REQUIREMENT, BEAT_REQUIREMENT]


def hand_facts(root: Path, settings: str = "mysite/settings.py", **changes: object) -> ProjectFacts:
    """Facts for small hand-written projects (no Django needed to read them)."""
    values: dict[str, object] = {
        "root": str(root.resolve()),
        "manage_py": "manage.py",
        "base_dir": ".",
        "settings_module": settings.removesuffix(".py").replace("/", "."),
        "settings_files": [settings],
        "installed_apps_file": settings,
        "celery_settings_file": settings,
        "project_package": "mysite",
        "project_package_dir": "mysite",
        "interpreter": sys.executable,
        "django_version": "5.2.19",
        "database_engine": "django.db.backends.sqlite3",
    }
    return ProjectFacts(**{**values, **changes})


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def appended(code: str, *values: str) -> str:
    module = cst.parse_module(code)
    literal = module.body[0].body[0].value  # type: ignore[attr-defined]
    return module.deep_replace(literal, append_strings(literal, list(values))).code  # type: ignore[union-attr]


# ----- growing a literal keeps its layout ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            'X = [\n    "a",\n    "b",  # b\n    # later\n]\n',
            'X = [\n    "a",\n    "b",  # b\n    # later\n    "c",\n    "d",\n]\n',
        ),
        ('X = [\n    "a",\n    "b"\n]\n', 'X = [\n    "a",\n    "b",\n    "c",\n    "d"\n]\n'),
        ("X = ['a', 'b']\n", "X = ['a', 'b', 'c', 'd']\n"),
        ("X = []\n", 'X = ["c", "d"]\n'),
        ('X = ("a",)\n', 'X = ("a", "c", "d")\n'),
        ('X = ("a", "b",)\n', 'X = ("a", "b", "c", "d",)\n'),
    ],
)
def test_append_strings_keeps_the_literal_layout(before: str, after: str) -> None:
    assert appended(before, "c", "d") == after


# ----- INSTALLED_APPS -----------------------------------------------------------------------------------
def test_installed_apps_on_startproject_exact_text(project_copy: Callable[[str], Path]) -> None:
    root = project_copy("single_settings")
    facts = hand_facts(root)
    edits = ProjectEdits(root)
    assert ensure_installed_apps(edits, facts, ["django_celery_results", "django_celery_beat"]) == [
        "django_celery_results",
        "django_celery_beat",
    ]
    text = edits.read("mysite/settings.py") or ""
    expected = (
        "INSTALLED_APPS = [\n"
        '    "polls.apps.PollsConfig",\n'
        "    'django.contrib.admin',\n"
        "    'django.contrib.auth',\n"
        "    'django.contrib.contenttypes',\n"
        "    'django.contrib.sessions',\n"
        "    'django.contrib.messages',\n"
        "    'django.contrib.staticfiles',\n"
        "    'django_celery_results',\n"
        "    'django_celery_beat',\n"
        "]\n"
    )
    assert expected in text
    original = (root / "mysite" / "settings.py").read_text()
    assert text.replace("    'django_celery_results',\n    'django_celery_beat',\n", "") == original


def test_installed_apps_concatenation_goes_into_third_party_list(project_copy: Callable[[str], Path]) -> None:
    root = project_copy("cookiecutter")
    facts = discover_project(root)
    edits = ProjectEdits(root)
    ensure_installed_apps(edits, facts, ["django_celery_results", "django_celery_beat"])
    text = edits.read("config/settings/base.py") or ""
    assert 'THIRD_PARTY_APPS = ["django_celery_results", "django_celery_beat"]\n' in text
    assert "INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS\n" in text
    assert edits.read("config/settings/local.py") == (root / "config/settings/local.py").read_text()


def test_installed_apps_tuple_extended_elsewhere_gets_the_base_definition(
    project_copy: Callable[[str], Path],
) -> None:
    root = project_copy("tuple_extended")
    facts = discover_project(root)
    edits = ProjectEdits(root)
    ensure_installed_apps(edits, facts, ["django_celery_beat"])
    base = edits.read("mysite/settings/base.py") or ""
    assert "    'django.contrib.staticfiles',\n    'django_celery_beat',\n)\n" in base
    assert [r.path for r in edits.reports() if r.status == "updated"] == ["mysite/settings/base.py"]


def test_an_app_listed_as_appconfig_anywhere_is_not_added_again(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "mysite/settings/base.py": 'INSTALLED_APPS = ["django.contrib.admin"]\n',
            "mysite/settings/dev.py": "from .base import *\n\n"
            'INSTALLED_APPS += ["django_celery_results.apps.CeleryResultConfig"]\n',
        },
    )
    facts = hand_facts(
        tmp_path,
        "mysite/settings/dev.py",
        settings_files=["mysite/settings/dev.py", "mysite/settings/base.py"],
        installed_apps_file="mysite/settings/base.py",
        celery_settings_file="mysite/settings/base.py",
    )
    edits = ProjectEdits(tmp_path)
    assert ensure_installed_apps(edits, facts, ["django_celery_results", "django_celery_beat"]) == [
        "django_celery_beat"
    ]
    assert edits.read("mysite/settings/base.py") == (
        'INSTALLED_APPS = ["django.contrib.admin", "django_celery_beat"]\n'
    )


def test_installed_apps_that_is_not_a_literal_is_refused_with_advice(tmp_path: Path) -> None:
    write(tmp_path, {"mysite/settings.py": "INSTALLED_APPS = load_apps()\n"})
    with pytest.raises(
        ToolError, match=r"built by code.*add 'django_celery_beat' to it yourself.*--backend none"
    ):
        ensure_installed_apps(ProjectEdits(tmp_path), hand_facts(tmp_path), ["django_celery_beat"])


# ----- the CELERY_* block --------------------------------------------------------------------------------
SMALL_SETTINGS = '''"""Settings."""
from pathlib import Path

DEBUG = True  # keep
TIME_ZONE = "Europe/Paris"

try:
    from .local import *  # noqa
except ImportError:
    pass
'''

SMALL_SETTINGS_AFTER = '''"""Settings."""
import os
from pathlib import Path

DEBUG = True  # keep
TIME_ZONE = "Europe/Paris"

# Celery test block
# See https://docs.celeryq.dev/en/stable/django/first-steps-with-django.html
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0")
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 30 * 60  # seconds; the worker kills the task after this
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60  # raises SoftTimeLimitExceeded in the task first
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # fair dispatch: no queueing behind long tasks
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True  # also store task name, args and worker
CELERY_RESULT_EXPIRES = 60 * 60 * 24 * 7  # seconds; older results are deleted

try:
    from .local import *  # noqa
except ImportError:
    pass
'''


def block_for(edits: ProjectEdits, facts: ProjectFacts, decisions: Decisions) -> list[str]:
    chain = celery_file_chain(facts, edits.read)
    wanted = core_settings(facts, decisions, chain) + backend_settings(decisions.result_backend, chain)
    return ensure_settings_block(edits, facts, wanted, "Celery test block")


def test_settings_block_exact_text_after_the_last_setting(tmp_path: Path) -> None:
    write(tmp_path, {"mysite/settings.py": SMALL_SETTINGS})
    facts, decisions = hand_facts(tmp_path), Decisions(task_apps=[])
    edits = ProjectEdits(tmp_path)
    block_for(edits, facts, decisions)
    assert edits.read("mysite/settings.py") == SMALL_SETTINGS_AFTER
    (tmp_path / "mysite/settings.py").write_text(SMALL_SETTINGS_AFTER)
    again = ProjectEdits(tmp_path)
    assert block_for(again, facts, decisions) == []
    assert [r.status for r in again.reports()] == ["already correct"]


def test_settings_block_never_repeats_what_the_file_or_its_imports_set(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "mysite/settings/base.py": 'CELERY_BROKER_URL = "redis://cache:6379/0"\nDEBUG = False\n',
            "mysite/settings/celery.py": "from .base import *\nCELERY_TASK_SERIALIZER = 'json'\n",
        },
    )
    facts = hand_facts(tmp_path, "mysite/settings/celery.py", time_zone="Asia/Tokyo")
    edits = ProjectEdits(tmp_path)
    added = block_for(edits, facts, Decisions(task_apps=[], beat=True, result_backend="none"))
    assert "CELERY_BROKER_URL" not in added and "CELERY_TASK_SERIALIZER" not in added
    text = edits.read("mysite/settings/celery.py") or ""
    assert 'CELERY_TIMEZONE = "Asia/Tokyo"\n' in text  # TIME_ZONE is set nowhere in the chain
    assert 'CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"\n' in text
    assert "CELERY_TASK_IGNORE_RESULT = True" in text and "CELERY_RESULT_BACKEND" not in text
    assert "import os" not in text  # nothing added reads os.environ


@pytest.mark.parametrize(
    ("layout", "settings", "broker"),
    [
        (
            "cookiecutter",
            "config/settings/base.py",
            'env("CELERY_BROKER_URL", default="redis://localhost:6379/0")',
        ),
        (
            "env_settings",
            "mysite/settings.py",
            'config("CELERY_BROKER_URL", default="redis://localhost:6379/0")',
        ),
    ],
)
def test_settings_read_the_environment_the_way_the_file_does(
    project_copy: Callable[[str], Path], layout: str, settings: str, broker: str
) -> None:
    root = project_copy(layout)
    facts = discover_project(root)
    edits = ProjectEdits(root)
    block_for(edits, facts, Decisions(task_apps=[], result_backend="redis"))
    text = edits.read(settings) or ""
    assert f"CELERY_BROKER_URL = {broker}\n" in text
    assert (
        "CELERY_RESULT_BACKEND = " + broker.replace("BROKER_URL", "RESULT_BACKEND").replace("/0", "/1")
        in text
    )
    assert "CELERY_TIMEZONE = TIME_ZONE\n" in text


def test_old_style_names_are_renamed_and_reported(project_copy: Callable[[str], Path]) -> None:
    root = project_copy("half_done")
    facts = discover_project(root)
    edits = ProjectEdits(root)
    rename_old_style_settings(edits, facts)
    text = edits.read("mysite/settings.py") or ""
    assert 'CELERY_BROKER_URL = os.environ.get("BROKER_URL", "redis://localhost:6379/0")' in text
    assert "CELERY_TASK_ALWAYS_EAGER = False" in text and "CELERY_ALWAYS_EAGER" not in text
    assert any("renamed the deprecated CELERY_ALWAYS_EAGER" in w for w in edits.warnings)


def test_url_passwords_are_reported_or_removed_with_consent(startproject: Path) -> None:
    settings = startproject / "mysite" / "settings.py"
    settings.write_text(
        "import os\n"
        + settings.read_text()
        + '\nCELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "amqp://guest:guest@localhost//")\n'
        + 'CELERY_RESULT_BACKEND = "redis://cache:s3cr3t-pw@redis.internal:6379/1"\n'
    )
    facts = discover_project(startproject)
    edits = ProjectEdits(startproject)
    report_url_passwords(edits, facts)
    assert len(edits.warnings) == 2 and all(w.startswith("mysite/settings.py:") for w in edits.warnings)
    assert all("needs consent (--fix-url-passwords)" in w for w in edits.warnings)
    assert edits.read("mysite/settings.py") == settings.read_text()  # reporting changes nothing
    strip_url_passwords(edits, facts)
    text = edits.read("mysite/settings.py") or ""
    assert 'os.environ.get("CELERY_BROKER_URL", "amqp://localhost//")' in text
    assert (
        'CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "redis://cache@redis.internal:6379/1")'
        in text
    )
    assert "s3cr3t-pw" not in text and "guest:guest" not in text
    assert any("put the real URL in .env as CELERY_RESULT_BACKEND" in w for w in edits.warnings)


# ----- celery.py and __init__.py ---------------------------------------------------------------------------
LEGACY_REPAIRED = """from __future__ import absolute_import, unicode_literals
import os
from celery import Celery

os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')

app = Celery('mysite')
app.config_from_object('django.conf:settings', namespace='CELERY')
app.autodiscover_tasks()


@app.task(bind=True)
def debug_task(self):
    print('Request: {0!r}'.format(self.request))
"""


def test_legacy_celery_module_is_repaired_in_place(project_copy: Callable[[str], Path]) -> None:
    root = project_copy("half_done")
    facts = discover_project(root)
    edits = ProjectEdits(root)
    assert ensure_celery_module(edits, facts) == "app"
    assert edits.read("mysite/celery.py") == LEGACY_REPAIRED
    warnings = " ".join(edits.warnings)
    assert "autodiscover_tasks(lambda: settings.INSTALLED_APPS)" in warnings
    assert "set after the Celery app was created" in warnings
    (root / "mysite/celery.py").write_text(LEGACY_REPAIRED)
    again = ProjectEdits(root)
    ensure_celery_module(again, facts)
    assert [r.status for r in again.reports()] == ["already correct"] and again.warnings == []


def test_setdefault_at_an_empty_settings_package_is_pointed_at_the_real_module(
    project_copy: Callable[[str], Path],
) -> None:
    root = project_copy("settings_package")
    facts = discover_project(root)
    (root / "mysite/celery.py").write_text(
        'import os\nfrom celery import Celery\n\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")\n'
        'app = Celery("mysite")\n'
    )
    edits = ProjectEdits(root)
    ensure_celery_module(edits, facts)
    text = edits.read("mysite/celery.py") or ""
    assert 'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings.dev")' in text
    assert any("settings package whose mysite/settings/__init__.py sets nothing" in w for w in edits.warnings)


def test_a_celery_module_without_an_app_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {"mysite/celery.py": "import celery\n", "mysite/settings.py": ""})
    with pytest.raises(ToolError, match="creates no Celery app"):
        ensure_celery_module(ProjectEdits(tmp_path), hand_facts(tmp_path))


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "",
            "# Load the Celery app when Django starts, so @shared_task tasks bind to it.\n"
            'from .celery import app as celery_app\n\n__all__ = ("celery_app",)\n',
        ),
        (
            '"""Pkg."""\n\nfrom .version import VERSION\n\n__all__ = ["VERSION"]\n',
            '"""Pkg."""\n\nfrom .version import VERSION\n\n'
            "# Load the Celery app when Django starts, so @shared_task tasks bind to it.\n"
            'from .celery import app as celery_app\n\n__all__ = ["VERSION", "celery_app"]\n',
        ),
        (
            "from .celery import app as celery_app\n",
            'from .celery import app as celery_app\n\n__all__ = ("celery_app",)\n',
        ),
    ],
)
def test_init_imports_the_app_and_extends_all(tmp_path: Path, before: str, after: str) -> None:
    write(tmp_path, {"mysite/__init__.py": before})
    edits = ProjectEdits(tmp_path)
    ensure_init_loads_app(edits, hand_facts(tmp_path), "app")
    assert edits.read("mysite/__init__.py") == after


# ----- tasks.py ------------------------------------------------------------------------------------------
def test_tasks_modules_pass_ruff_and_an_existing_one_is_kept(tmp_path: Path) -> None:
    apps = [
        AppInfo(
            label="polls", module="polls", listed_as="polls", path="polls", models=["Question", "Choice"]
        ),
        AppInfo(label="users", module="apps.users", listed_as="x", path="apps/users", models=["Category"]),
        AppInfo(label="core", module="core", listed_as="core", path="core"),
    ]
    write(tmp_path, {"core/tasks.py": "# mine\n"})
    edits = ProjectEdits(tmp_path)
    for app in apps:
        ensure_tasks_module(edits, app)
    assert edits.read("core/tasks.py") == "# mine\n"
    assert [roundtrip_task_name(a) for a in apps] == [
        "polls.tasks.count_questions",
        "apps.users.tasks.count_categories",
        "core.tasks.ping",
    ]
    ensure_tasks_module(edits, AppInfo(label="pings", module="pings", listed_as="pings", path="pings"))
    generated = ("polls/tasks.py", "apps/users/tasks.py", "pings/tasks.py")
    for rel in generated:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(edits.read(rel) or "")
    text = (tmp_path / "polls/tasks.py").read_text()
    assert "transaction.on_commit(partial(process_question.delay, pk))" in text
    assert "autoretry_for=(OperationalError,)" in text and "soft_time_limit=60" in text
    assert '@shared_task(name="pings.tasks.ping")' in (tmp_path / "pings/tasks.py").read_text()
    paths = [str(tmp_path / rel) for rel in generated]
    assert ruff("check", *paths).returncode == 0
    assert ruff("format", "--check", *paths).returncode == 0


# ----- dependencies --------------------------------------------------------------------------------------
POETRY = """[tool.poetry]
name = "mysite"

[tool.poetry.dependencies]
python = "^3.11"
Django = "^5.2"  # web

[build-system]
requires = ["poetry-core"]
"""

PIPFILE = """[packages]
django = "*"
django-celery-beat = "*"

[dev-packages]
pytest = "*"
"""


@pytest.mark.parametrize(
    ("files", "target", "expected_tail"),
    [
        ({"requirements.txt": "Django>=5.2"}, "requirements.txt", "Django>=5.2\ncelery[redis]>=5.4,<6\n"),
        (
            {"pyproject.toml": POETRY},
            "pyproject.toml",
            'Django = "^5.2"  # web\ncelery = {version = ">=5.4,<6", extras = ["redis"]}\n'
            'django-celery-results = ">=2.5"\ndjango-celery-beat = ">=2.6"\n\n[build-system]',
        ),
        (
            {"Pipfile": PIPFILE, "requirements.txt": "gunicorn\n"},
            "Pipfile",
            'django-celery-beat = "*"\ncelery = {version = ">=5.4,<6", extras = ["redis"]}\n'
            'django-celery-results = ">=2.5"\n\n[dev-packages]',
        ),
    ],
)
def test_dependencies_go_where_the_project_declares_django(
    tmp_path: Path, files: dict[str, str], target: str, expected_tail: str
) -> None:
    write(tmp_path, files)
    facts = hand_facts(tmp_path, dependency_files=sorted(files))
    edits = ProjectEdits(tmp_path)
    ensure_dependencies(edits, facts, WANTED)
    assert expected_tail in (edits.read(target) or "")
    assert [r.path for r in edits.reports() if r.status == "updated"] == [target]


def test_dependencies_split_requirements_and_pep621(project_copy: Callable[[str], Path]) -> None:
    cookiecutter = project_copy("cookiecutter")
    edits = ProjectEdits(cookiecutter)
    ensure_dependencies(edits, discover_project(cookiecutter), WANTED)
    assert (edits.read("requirements/base.txt") or "").endswith(
        "django-environ>=0.11\ncelery[redis]>=5.4,<6\ndjango-celery-results>=2.5\ndjango-celery-beat>=2.6\n"
    )
    src = project_copy("src_layout")
    (src / "uv.lock").write_text("version = 1\n")
    edits = ProjectEdits(src)
    ensure_dependencies(edits, discover_project(src), WANTED[:1])
    assert 'dependencies = ["django>=5.2,<6", "celery[redis]>=5.4,<6"]\n' in (
        edits.read("pyproject.toml") or ""
    )
    assert any("run `uv lock`" in w for w in edits.warnings)


def test_no_dependency_file_creates_requirements_with_django_pinned(tmp_path: Path) -> None:
    edits = ProjectEdits(tmp_path)
    ensure_dependencies(edits, hand_facts(tmp_path), WANTED[:2])
    assert edits.read("requirements.txt") == (
        "Django>=5.2,<5.3\ncelery[redis]>=5.4,<6\ndjango-celery-results>=2.5\n"
    )


# ----- .env.example and .gitignore -----------------------------------------------------------------------
def test_env_files_append_only_what_is_missing(tmp_path: Path) -> None:
    write(
        tmp_path, {".gitignore": "*.pyc\n!.env.example\n", ".env.example": "DEBUG=1\nCELERY_BROKER_URL=x\n"}
    )
    edits = ProjectEdits(tmp_path)
    ensure_gitignore(edits)
    ensure_env_example(
        edits, {"CELERY_BROKER_URL": "redis://localhost:6379/0", "CELERY_RESULT_BACKEND": "r"}, "c"
    )
    assert edits.read(".gitignore") == (
        "*.pyc\n!.env.example\n\n# Environment files hold secrets; .env.example documents them. Beat's local "
        "schedule.\n.env\n.env.*\n!.env.example\ncelerybeat-schedule*\n"
    )
    assert edits.read(".env.example") == "DEBUG=1\nCELERY_BROKER_URL=x\n\n# c\nCELERY_RESULT_BACKEND=r\n"


def test_a_computed_settings_default_is_left_to_the_user(tmp_path: Path) -> None:
    code = (
        "import os\n\nfrom celery import Celery\n\n"
        'os.environ.setdefault("DJANGO_SETTINGS_MODULE", os.environ["APP_SETTINGS"])\n\n'
        'app = Celery("mysite")\napp.config_from_object("django.conf:settings", namespace="CELERY")\n\n'
        "app.autodiscover_tasks()\n"
    )
    write(tmp_path, {"mysite/celery.py": code, "mysite/settings.py": ""})
    edits = ProjectEdits(tmp_path)
    ensure_celery_module(edits, hand_facts(tmp_path))
    assert edits.read("mysite/celery.py") == code and edits.warnings == []
