"""Discovery on real project layouts, real interpreters and real probe subprocesses.

Each layout of tests/layouts.py is built and discovered once per session; the error cases change a copy.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.layouts import LAYOUTS, Layout
from tools.django_celery.discovery import DiscoveryError, discover_project, locate_manage_py
from tools.django_celery.facts import ProjectFacts
from tools.django_celery.interpreter import find_interpreter
from tools.django_celery.project_scan import find_celery_app, init_loads_app
from tools.django_celery.settings_map import installed_apps_layout
from tools.django_celery.settings_source import SettingsModuleUnknown

Snapshot = dict[str, bytes | None]


def snapshot(root: Path) -> Snapshot:
    """Every path under root with its bytes (None for folders): equal snapshots = byte-identical trees."""
    return {
        path.relative_to(root).as_posix(): None if path.is_dir() else path.read_bytes()
        for path in sorted(root.rglob("*"))
    }


def make_venv(folder: Path, with_django: bool) -> Path:
    """A real virtualenv; "with Django" links this interpreter's site-packages in with a .pth file.

    (`--system-site-packages` would not do: the base interpreter here has no Django.)
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    if with_django:
        site = next(folder.glob("lib/python*/site-packages"))
        (site / "agent_site.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return folder / "bin" / "python"


def line_of(file: Path, snippet: str) -> int:
    return next(n for n, line in enumerate(file.read_text().splitlines(), 1) if snippet in line)


def replace_in(file: Path, old: str, new: str) -> None:
    text = file.read_text()
    assert old in text, f"{old!r} not in {file}"
    file.write_text(text.replace(old, new, 1))


@pytest.fixture(scope="session")
def layout_template(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Build each layout at most once per session."""
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            built[name] = LAYOUTS[name].build(tmp_path_factory.mktemp(name) / "project")
        return built[name]

    return get


@pytest.fixture(scope="session")
def discovered(
    layout_template: Callable[[str], Path],
) -> Callable[[str], tuple[ProjectFacts, Snapshot, Snapshot]]:
    """Each layout discovered once: its facts and the tree before and after discovery."""
    results: dict[str, tuple[ProjectFacts, Snapshot, Snapshot]] = {}

    def get(name: str) -> tuple[ProjectFacts, Snapshot, Snapshot]:
        if name not in results:
            root = layout_template(name)
            before = snapshot(root)
            with pytest.MonkeyPatch.context() as patch:
                patch.delenv("VIRTUAL_ENV", raising=False)
                facts = discover_project(root)
            results[name] = (facts, before, snapshot(root))
        return results[name]

    return get


# ----- the layouts ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(LAYOUTS))
def test_layout_settings_are_mapped(name: str, discovered: Callable) -> None:
    facts, _, _ = discovered(name)
    expected: Layout = LAYOUTS[name]
    assert facts.manage_py == expected.manage_py
    assert facts.settings_module == expected.settings_module
    assert facts.settings_files == expected.settings_files
    assert facts.installed_apps_file == expected.installed_apps_file
    assert facts.celery_settings_file == expected.celery_settings_file
    assert facts.project_package == expected.project_package
    assert facts.installed_apps_layout.startswith(expected.installed_apps_layout)
    for field_name, value in expected.extra.items():
        assert getattr(facts, field_name) == value, field_name


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_layout_is_loaded_by_django_in_its_interpreter(name: str, discovered: Callable) -> None:
    facts, _, _ = discovered(name)
    expected: Layout = LAYOUTS[name]
    assert facts.django_version.startswith("5.2")
    assert facts.database_engine == "django.db.backends.sqlite3"
    assert facts.database_name == str(Path(facts.root) / facts.base_dir / "db.sqlite3")
    assert facts.interpreter == sys.executable
    assert "last resort" in facts.interpreter_reason
    assert "django.contrib.auth" in facts.installed_apps
    found = {app.label: (app.module, app.path, app.models) for app in facts.apps}
    assert found == expected.apps
    assert facts.existing.celery_module is None and facts.existing.dispatch_sites == []


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_discovery_leaves_the_project_byte_identical(name: str, discovered: Callable) -> None:
    _, before, after = discovered(name)
    assert after == before
    assert not [path for path in after if "__pycache__" in path]


def test_installed_apps_layout_describes_concatenation_and_extensions(discovered: Callable) -> None:
    cookiecutter, _, _ = discovered("cookiecutter")
    root = Path(cookiecutter.root)
    layout = installed_apps_layout(root / "config/settings/local.py")
    assert layout is not None
    assert layout.definition.shape == "concatenation"
    assert layout.definition.parts == ["DJANGO_APPS", "THIRD_PARTY_APPS", "LOCAL_APPS"]
    assert layout.third_party_part == "THIRD_PARTY_APPS"
    assert layout.parts["THIRD_PARTY_APPS"].shape == "list"
    assert layout.target_file == (root / "config/settings/base.py").resolve()
    base_line = line_of(root / "config/settings/base.py", "THIRD_PARTY_APPS = []")
    local_line = line_of(root / "config/settings/local.py", "INSTALLED_APPS +=")
    assert (
        f"THIRD_PARTY_APPS, a list at config/settings/base.py:{base_line}"
        in cookiecutter.installed_apps_layout
    )
    assert cookiecutter.installed_apps_layout.endswith(
        f"extended with += in config/settings/local.py:{local_line}"
    )

    tuple_facts, _, _ = discovered("tuple_extended")
    dev = Path(tuple_facts.root) / "mysite/settings/dev.py"
    assert tuple_facts.installed_apps_layout.endswith(
        f"extended with += in mysite/settings/dev.py:{line_of(dev, '+=')}"
    )
    assert "django.contrib.humanize" in tuple_facts.installed_apps  # the probe saw the += take effect


def test_split_settings_report_entry_points_that_disagree(discovered: Callable) -> None:
    package, _, _ = discovered("settings_package")
    assert any("mysite/wsgi.py" in w and "mysite.settings.prod" in w for w in package.warnings)
    assert any("mysite/asgi.py" in w for w in package.warnings)
    single, _, _ = discovered("single_settings")
    assert not [w for w in single.warnings if "wsgi" in w]


def test_dependency_files_and_their_styles(discovered: Callable) -> None:
    cookiecutter, _, _ = discovered("cookiecutter")
    assert cookiecutter.dependency_styles == {
        "requirements/base.txt": "requirements",
        "requirements/local.txt": "requirements",
        "requirements/production.txt": "requirements",
        "setup.cfg": "tool-config-only",
    }
    src, _, _ = discovered("src_layout")
    assert src.dependency_styles == {"pyproject.toml": "pep621"}


# ----- interpreters ---------------------------------------------------------------------------------------
def test_project_virtualenv_is_picked_and_used(startproject: Path) -> None:
    python = make_venv(startproject / ".venv", with_django=True)
    facts = discover_project(startproject)
    assert facts.interpreter == str(python)
    assert facts.interpreter_reason == "virtualenv .venv/ in the project"
    assert facts.django_version.startswith("5.2")
    assert [app.label for app in facts.apps] == ["polls"]  # nothing from the venv counts as a local app


def test_interpreter_without_django_is_refused_and_python_flag_overrides_it(startproject: Path) -> None:
    python = make_venv(startproject / "venv", with_django=False)
    with pytest.raises(DiscoveryError) as error:
        discover_project(startproject)
    message = str(error.value)
    assert str(python) in message and "virtualenv venv/" in message
    assert "cannot import Django" in message and "--python" in message
    facts = discover_project(startproject, python=sys.executable)
    assert facts.interpreter == sys.executable and facts.interpreter_reason == "given with --python"


def test_virtualenv_beside_a_nested_manage_py_is_found(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "src" / "env", with_django=False)
    choice = find_interpreter(tmp_path, base_dir=tmp_path / "src")
    assert choice.path == python and choice.reason == "virtualenv src/env/ in the project"


@pytest.mark.parametrize(
    ("tool", "marker_file", "expected_argv"),
    [("poetry", "pyproject.toml", "env info -p"), ("pipenv", "Pipfile", "--venv")],
)
def test_environment_managers_are_asked_for_their_venv(
    tool: str, marker_file: str, expected_argv: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stand-in `poetry`/`pipenv` on PATH answers as the real CLI does (the venv path on stdout)."""
    python = make_venv(tmp_path / "managed-venv", with_django=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / tool
    script.write_text(f'#!/bin/sh\n[ "$*" = "{expected_argv}" ] && echo {python.parent.parent} || exit 1\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    project = tmp_path / "project"
    project.mkdir()
    (project / marker_file).write_text('[tool.poetry]\nname = "x"\n' if tool == "poetry" else "[packages]\n")
    choice = find_interpreter(project)
    assert choice.path == python and tool.capitalize() in choice.reason


def test_missing_python_flag_target_is_refused(startproject: Path) -> None:
    with pytest.raises(DiscoveryError, match="no executable interpreter"):
        discover_project(startproject, python=startproject / "nope" / "python")


# ----- projects discovery refuses, with the fix --------------------------------------------------------------
def test_not_a_django_project(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# notes\n")
    with pytest.raises(DiscoveryError, match=r"No manage\.py under .*does not look like a Django project"):
        discover_project(tmp_path)


def test_two_projects_are_listed(copy_project: Callable, startproject_template: Path, tmp_path: Path) -> None:
    copy_project(startproject_template, "repo/site_a")
    copy_project(startproject_template, "repo/site_b")
    with pytest.raises(DiscoveryError) as error:
        discover_project(tmp_path / "repo")
    assert "site_a/manage.py, site_b/manage.py" in str(error.value)
    assert "Pass the folder of the one you mean" in str(error.value)


def test_deeper_manage_py_is_ignored_with_a_warning(
    copy_project: Callable, startproject_template: Path, tmp_path: Path
) -> None:
    copy_project(startproject_template, "repo/src")
    copy_project(startproject_template, "repo/docs/examples/demo")
    manage_py, warnings = locate_manage_py(tmp_path / "repo")
    assert manage_py == tmp_path / "repo/src/manage.py"
    assert warnings == ["Ignored deeper manage.py files: docs/examples/demo/manage.py."]


def test_settings_syntax_error_names_file_and_line(copy_project: Callable, layout_template: Callable) -> None:
    project = copy_project(layout_template("settings_package"))
    replace_in(project / "mysite/settings/dev.py", "DEBUG = True", "DEBUG = = True")
    with pytest.raises(DiscoveryError, match=r"mysite/settings/dev\.py:3: syntax error .*Fix it first"):
        discover_project(project)


def _without_settings_default(project: Path) -> None:
    replace_in(
        project / "manage.py", "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')", ""
    )


def test_manage_py_without_settings_module_lists_candidates(
    startproject: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    _without_settings_default(startproject)
    before = snapshot(startproject)
    with pytest.raises(SettingsModuleUnknown) as error:
        discover_project(startproject)
    assert error.value.candidates == ["mysite.settings"]
    assert "does not set DJANGO_SETTINGS_MODULE" in str(error.value)
    assert "Run again with --settings mysite.settings" in str(error.value)
    assert snapshot(startproject) == before


@pytest.mark.parametrize(
    ("file", "text"),
    [
        (".env", "SECRET=not-read\nDJANGO_SETTINGS_MODULE=mysite.settings\n"),
        ("pytest.ini", "[pytest]\nDJANGO_SETTINGS_MODULE = mysite.settings\n"),
        ("setup.cfg", "[tool:pytest]\nDJANGO_SETTINGS_MODULE = mysite.settings\n"),
        ("tox.ini", "[pytest]\nDJANGO_SETTINGS_MODULE = mysite.settings\n"),
        ("pyproject.toml", '[tool.pytest.ini_options]\nDJANGO_SETTINGS_MODULE = "mysite.settings"\n'),
    ],
)
def test_settings_module_from_env_file_or_pytest_config(
    file: str, text: str, startproject: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    _without_settings_default(startproject)
    (startproject / file).write_text(text)
    facts = discover_project(startproject)
    assert (facts.settings_module, facts.settings_source) == ("mysite.settings", file)
    assert any(f"used 'mysite.settings' from {file}" in w for w in facts.warnings)
    assert "not-read" not in facts.model_dump_json()


def test_settings_flag_and_environment_variable(startproject: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _without_settings_default(startproject)
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "mysite.settings")
    assert discover_project(startproject).settings_source == "$DJANGO_SETTINGS_MODULE"
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE")
    facts = discover_project(startproject, settings_module="mysite.settings")
    assert (facts.settings_module, facts.settings_source) == ("mysite.settings", "--settings")
    with pytest.raises(DiscoveryError, match=r"'mysite.nope' was named, but neither mysite/nope\.py"):
        discover_project(startproject, settings_module="mysite.nope")


def test_env_file_feeds_the_settings_without_entering_the_facts(startproject: Path, tmp_path: Path) -> None:
    settings = startproject / "mysite/settings.py"
    replace_in(settings, "ALLOWED_HOSTS = []", 'ALLOWED_HOSTS = os.environ.get("MYSITE_HOSTS").split(" ")')
    settings.write_text("import os\n" + settings.read_text())
    (startproject / ".env.dev-sample").write_text("MYSITE_HOSTS=localhost\n")
    with pytest.raises(DiscoveryError) as error:
        discover_project(startproject)
    message = str(error.value)
    assert "need the environment variable MYSITE_HOSTS" in message
    assert f"--env-file {startproject / '.env.dev-sample'}" in message
    env_file = tmp_path / "dev.env"
    env_file.write_text("MYSITE_HOSTS=localhost example.invalid\n")
    facts = discover_project(startproject, env_files=[str(env_file)])
    assert facts.env_files == [str(env_file.resolve())]
    assert "example.invalid" not in facts.model_dump_json()
    with pytest.raises(DiscoveryError, match=r"--env-file .*: no such file"):
        discover_project(startproject, env_files=[str(tmp_path / "missing.env")])


@pytest.mark.parametrize(
    ("settings_code", "variable"),
    [
        ('import os\nSECRET_KEY = os.environ["MYSITE_SECRET_KEY"]', "MYSITE_SECRET_KEY"),
        ('import environ\nSECRET_KEY = environ.Env()("DJANGO_SECRET_KEY")', "DJANGO_SECRET_KEY"),
        ('from decouple import config\nSECRET_KEY = config("MYSITE_SECRET_KEY")', "MYSITE_SECRET_KEY"),
    ],
    ids=["os.environ", "django-environ", "decouple"],
)
def test_missing_environment_variable(
    settings_code: str, variable: str, startproject: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(variable, raising=False)
    settings = startproject / "mysite/settings.py"
    settings.write_text(re.sub(r"^SECRET_KEY = .*$", settings_code, settings.read_text(), flags=re.M))
    with pytest.raises(DiscoveryError) as error:
        discover_project(startproject)
    message = str(error.value)
    assert f"need the environment variable {variable}. Set it" in message
    assert "Loading the settings mysite.settings with" in message


def test_missing_package(startproject: Path) -> None:
    settings = startproject / "mysite/settings.py"
    settings.write_text("import sentry_sdk\n" + settings.read_text())
    with pytest.raises(DiscoveryError) as error:
        discover_project(startproject)
    message = str(error.value)
    assert "ModuleNotFoundError: No module named 'sentry_sdk'" in message
    assert f"{sys.executable} -m pip install sentry-sdk" in message and "--python" in message


# ----- existing Celery ------------------------------------------------------------------------------------
FULL_CELERY_MODULE = """import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")

app = Celery("mysite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
"""

POLLS_TASKS = """from celery import shared_task

from mysite.celery import app


@shared_task
def tally_votes(question_id):
    return question_id


@shared_task(bind=True, max_retries=3)
def close_poll(self, question_id):
    return question_id


@app.task
def purge_old_polls():
    return 0


def not_a_task():
    return None
"""

POLLS_VIEWS = """from functools import partial

from django.db import transaction

from .models import Question
from .tasks import close_poll, tally_votes


def vote(request, question_id):
    with transaction.atomic():
        question = Question.objects.select_for_update().get(pk=question_id)
        tally_votes.delay(question.pk)  # inside atomic
    transaction.on_commit(partial(close_poll.delay, question_id))  # deferred
    tally_votes.apply_async(args=[question_id], countdown=5)  # plain


@transaction.atomic
def reopen(request, question_id):
    close_poll.delay(question_id)  # atomic decorator
"""

POLLS_SIGNALS = """from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Question
from .tasks import tally_votes


@receiver(post_save, sender=Question)
def question_saved(sender, instance, created, **kwargs):
    tally_votes.delay(instance.pk)  # receiver


def choice_saved(sender, instance, **kwargs):
    transaction.on_commit(lambda: tally_votes.delay(instance.question_id))  # connected receiver


post_save.connect(choice_saved, sender="polls.Choice")
"""

VOTE_MODEL = """

class Vote(models.Model):
    choice = models.ForeignKey(Choice, on_delete=models.CASCADE)

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        from .tasks import tally_votes

        tally_votes.delay(self.choice.question_id)  # in save()
"""


@pytest.fixture(scope="session")
def full_celery(startproject_template: Path, tmp_path_factory: pytest.TempPathFactory) -> ProjectFacts:
    project = Path(shutil.copytree(startproject_template, tmp_path_factory.mktemp("full") / "mysite"))
    (project / "mysite/celery.py").write_text(FULL_CELERY_MODULE)
    (project / "mysite/__init__.py").write_text(
        'from .celery import app as celery_app\n\n__all__ = ("celery_app",)\n'
    )
    settings = project / "mysite/settings.py"
    settings.write_text(
        "import os\n" + settings.read_text() + '\nCELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", '
        '"redis://:mysite_dev_your_key_here@localhost:6379/0")\n'
        'CELERY_RESULT_BACKEND = "django-db"\nCELERY_TIMEZONE = TIME_ZONE\n'
    )
    (project / "polls/tasks.py").write_text(POLLS_TASKS)
    (project / "polls/views.py").write_text(POLLS_VIEWS)
    (project / "polls/signals.py").write_text(POLLS_SIGNALS)
    (project / "polls/models.py").write_text((project / "polls/models.py").read_text() + VOTE_MODEL)
    return discover_project(project)


def test_full_celery_setup_is_recognised(full_celery: ProjectFacts) -> None:
    existing = full_celery.existing
    assert (existing.celery_module, existing.app_variable, existing.init_loads_app) == (
        "mysite/celery.py",
        "app",
        True,
    )
    assert (
        existing.celery_settings
        == {
            "CELERY_BROKER_URL": "'redis://:***@localhost:6379/0'",  # a password in a URL never leaves the probe's host
            "CELERY_RESULT_BACKEND": "'django-db'",
            "CELERY_TIMEZONE": "'UTC'",
        }
    )
    assert existing.old_style_settings == []
    polls = full_celery.app("polls")
    assert polls is not None and polls.has_tasks_module
    assert polls.task_names == ["tally_votes", "close_poll", "purge_old_polls"]
    assert polls.models == ["Question", "Choice", "Vote"]
    assert full_celery.packages.celery == "5.7.0"
    assert not [w for w in full_celery.warnings if "celery" in w.lower()]


def test_dispatch_sites_know_their_transaction_context(full_celery: ProjectFacts) -> None:
    root = Path(full_celery.root)

    def at(path: str, snippet: str) -> str:
        return f"{path}:{line_of(root / path, snippet)}"

    found = {(site.location, site.call): site.contexts for site in full_celery.existing.dispatch_details}
    assert found == {
        (at("polls/views.py", "# inside atomic"), "tally_votes.delay"): ["atomic"],
        (at("polls/views.py", "# deferred"), "close_poll.delay"): ["on_commit"],
        (at("polls/views.py", "# plain"), "tally_votes.apply_async"): [],
        (at("polls/views.py", "# atomic decorator"), "close_poll.delay"): ["atomic"],
        (at("polls/signals.py", "# receiver"), "tally_votes.delay"): ["receiver"],
        (at("polls/signals.py", "# connected receiver"), "tally_votes.delay"): ["receiver", "on_commit"],
        (at("polls/models.py", "# in save()"), "tally_votes.delay"): ["save"],
    }
    assert full_celery.existing.dispatch_sites == [
        site.location for site in full_celery.existing.dispatch_details
    ]


def test_half_celery_setup_and_old_setting_names(startproject: Path) -> None:
    (startproject / "mysite/celery.py").write_text(
        'from celery import Celery\n\ncelery_app = Celery("mysite")\n'
        'celery_app.config_from_object("django.conf:settings")\n'
    )
    settings = startproject / "mysite/settings.py"
    settings.write_text(
        settings.read_text()
        + '\nCELERY_ALWAYS_EAGER = True\nBROKER_URL = "memory://"\nCELERYD_CONCURRENCY = 2\n'
        'CELERY_RESULT_BACKEND = "django-db"\n'
    )
    facts = discover_project(startproject)
    existing = facts.existing
    assert (existing.celery_module, existing.app_variable, existing.init_loads_app) == (
        "mysite/celery.py",
        "celery_app",
        False,
    )
    assert existing.old_style_settings == ["BROKER_URL", "CELERYD_CONCURRENCY", "CELERY_ALWAYS_EAGER"]
    assert existing.celery_settings == {"CELERY_ALWAYS_EAGER": "True", "CELERY_RESULT_BACKEND": "'django-db'"}
    assert any("Rename it to CELERY_TASK_ALWAYS_EAGER" in w for w in facts.warnings)
    assert any("mysite/__init__.py does not import its app" in w for w in facts.warnings)


def test_cookiecutter_celery_app_module_is_found(copy_project: Callable, layout_template: Callable) -> None:
    project = copy_project(layout_template("cookiecutter"))
    config = project / "config"
    (config / "celery_app.py").write_text('from celery import Celery\n\napp = Celery("myproj")\n')
    (config / "__init__.py").write_text(
        'from .celery_app import app as celery_app\n\n__all__ = ("celery_app",)\n'
    )
    module, variable = find_celery_app(project, config) or (None, None)
    assert (module, variable) == (config / "celery_app.py", "app")
    assert init_loads_app(config, "config", config / "celery_app.py")


def test_settings_file_symlinked_from_outside_is_refused(startproject: Path, tmp_path: Path) -> None:
    outside = tmp_path / "shared-settings.py"
    shutil.move(startproject / "mysite/settings.py", outside)
    (startproject / "mysite/settings.py").symlink_to(outside)
    with pytest.raises(DiscoveryError, match="settings file lies outside the project"):
        discover_project(startproject)


def test_installed_apps_extensions_in_every_form(tmp_path: Path) -> None:
    package = tmp_path / "proj" / "settings"
    package.mkdir(parents=True)
    (tmp_path / "proj" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "base.py").write_text(
        'INSTALLED_APPS: list[str] = ["a"]\n\n\ndef helper():\n    INSTALLED_APPS = []\n'
    )
    (package / "dev.py").write_text(
        "from proj.settings.base import *\n"
        "from .missing import *\n"
        'INSTALLED_APPS = INSTALLED_APPS + ["b"]\n'
        'INSTALLED_APPS.append("c")\n'
        'INSTALLED_APPS = [*INSTALLED_APPS, "d"]\n'
    )
    layout = installed_apps_layout(package / "dev.py")
    assert layout is not None
    assert (layout.definition.file, layout.definition.line, layout.definition.shape) == (
        package / "base.py",
        1,
        "list",
    )
    assert [(e.operator, e.line) for e in layout.extensions] == [("=", 3), ("append", 4), ("=", 5)]
    assert layout.target_file == package / "base.py" and layout.third_party_part is None
