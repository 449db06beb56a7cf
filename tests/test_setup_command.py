"""/celery:setup and /celery:add-backend end to end on real projects: what they write, that Django still
starts (`manage.py check` in the project's interpreter), that a second run changes nothing, and that undo
puts every byte back (the SQLite database included)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.evals.layouts import LAYOUTS
from tests import celery_support
from tests.celery_support import context_for, facts_of, manage_check, ruff, snapshot
from tools.base import ToolError
from tools.context import ToolContext
from tools.django_celery.backend import run_add_backend
from tools.django_celery.migrations import apply_migrations, pending_migrations
from tools.django_celery.project_env import run_manage
from tools.django_celery.setup import run_setup
from tools.journal import Journal

project_template = celery_support.project_template  # fixtures
project_copy = celery_support.project_copy


def second_run_changes_nothing(project: Path, arguments: str, backend: str) -> str:
    ctx = context_for(project, "second-run")
    message = run_setup(ctx, arguments) + "\n" + run_add_backend(ctx, backend)
    assert ctx.journal.index.entries == []
    return message


def test_setup_on_startproject_then_idempotent_then_undone(startproject: Path) -> None:
    before = snapshot(startproject)
    ctx = context_for(startproject)
    message = run_setup(ctx, "--beat")
    for line in (
        "- mysite/celery.py: created",
        "- mysite/__init__.py: updated: from .celery import app as celery_app, __all__",
        "- mysite/settings.py: updated: added CELERY_BROKER_URL",
        "INSTALLED_APPS += django_celery_results, django_celery_beat",
        "- polls/tasks.py: created: count_questions, process_question, queue_process_question",
        "- requirements.txt: created: Django>=5.2,<5.3, celery[redis]>=5.4,<6",
        "- .env.example: created",
        "- .gitignore: created",
        "Migrations: applied",
        "db.sqlite3 was backed up first",
    ):
        assert line in message
    assert ctx.decisions is not None and ctx.decisions.beat and ctx.decisions.sources["beat"] == "flag"
    check = manage_check(ctx)
    assert check.returncode == 0, check.stderr
    generated = [str(startproject / p) for p in ("mysite/celery.py", "mysite/__init__.py", "polls/tasks.py")]
    lint = ruff("check", *generated)
    assert lint.returncode == 0, lint.stdout
    assert ruff("format", "--check", *generated).returncode == 0
    pending = pending_migrations(facts_of(ctx))
    assert pending and not [
        p for p in pending if p.startswith("django_celery")
    ]  # only Celery's apps migrated

    again = second_run_changes_nothing(startproject, "--beat", "django-db")
    assert "Nothing to change: every file was already correct." in again
    assert "- mysite/settings.py: already correct" in again
    assert "nothing pending" in again

    Journal.load(ctx.journal.run_dir).rollback()
    assert snapshot(startproject) == before


@pytest.mark.live
@pytest.mark.parametrize(
    ("layout", "settings_file"),
    [
        ("settings_package", "mysite/settings/base.py"),
        ("cookiecutter", "config/settings/base.py"),
        ("tuple_extended", "mysite/settings/base.py"),
        ("env_settings", "mysite/settings.py"),
        ("src_layout", "src/mysite/settings.py"),
        ("nested_apps", "mysite/settings.py"),
    ],
)
def test_setup_on_real_layouts(project_copy: Callable[[str], Path], layout: str, settings_file: str) -> None:
    project = project_copy(layout)
    before = snapshot(project)
    ctx = context_for(project)
    message = run_setup(ctx, "")
    assert f"- {settings_file}: updated: added CELERY_BROKER_URL" in message
    assert "Warnings:" not in message, message
    check = manage_check(ctx)
    assert check.returncode == 0, check.stderr
    settings = (project / settings_file).read_text()
    assert settings.count("CELERY_BROKER_URL =") == 1 and "django_celery_results" in settings
    for app in facts_of(ctx).apps:
        assert (project / app.path / "tasks.py").is_file()
    assert "already correct" in second_run_changes_nothing(project, "", "django-db")
    ctx.journal.rollback()
    assert snapshot(project) == before


@pytest.mark.live
def test_setup_keeps_an_existing_full_integration(project_copy: Callable[[str], Path]) -> None:
    project = project_copy("existing_celery")
    ctx = context_for(project)
    message = run_setup(ctx, "")
    assert "- mysite/celery.py: already correct" in message
    assert "- mysite/__init__.py: already correct" in message
    assert "- polls/tasks.py: already correct: kept as it is" in message
    assert "- requirements.txt: already correct" in message
    settings = (project / "mysite" / "settings.py").read_text()
    assert settings.count("CELERY_BROKER_URL =") == 1
    assert settings.count("django_celery_results") == 1  # listed as its AppConfig path already
    assert "CELERY_RESULT_EXTENDED = True" in settings and "CELERY_TASK_TIME_LIMIT" in settings
    assert manage_check(ctx).returncode == 0


@pytest.mark.live
def test_setup_repairs_a_half_done_integration(project_copy: Callable[[str], Path]) -> None:
    project = project_copy("half_done")
    ctx = context_for(project)
    message = run_setup(ctx, "--backend none --rename-settings")
    assert "mysite/celery.py existed but was incomplete (a half-done setup)" in message
    assert "existed but the package __init__ did not load it; fixed." in message
    assert "renamed the deprecated CELERY_ALWAYS_EAGER to CELERY_TASK_ALWAYS_EAGER" in message
    assert "from .celery import app as celery_app" in (project / "mysite" / "__init__.py").read_text()
    settings = (project / "mysite" / "settings.py").read_text()
    assert "BROKER_URL =" not in settings.replace("CELERY_BROKER_URL =", "")
    assert "CELERY_TASK_IGNORE_RESULT = True" in settings and "Migrations" not in message
    assert manage_check(ctx).returncode == 0


def test_a_broker_password_is_written_nowhere(startproject: Path) -> None:
    ctx = context_for(startproject)
    message = run_setup(
        ctx, "--backend none --apps polls --broker amqp://shop:S3cretPassw0rd@rabbit:5672/shop"
    )
    assert "contains a password: it was written nowhere" in message
    for path in ctx.journal.changed_files():
        assert "S3cretPassw0rd" not in (startproject / path).read_text()
    settings = (startproject / "mysite" / "settings.py").read_text()
    assert 'os.environ.get("CELERY_BROKER_URL", "amqp://rabbit:5672/shop")' in settings
    example = (startproject / ".env.example").read_text()
    assert "CELERY_BROKER_URL=amqp://shop:mysite_dev_your_password_here@rabbit:5672/shop" in example
    assert "celery>=5.4,<6" in (startproject / "requirements.txt").read_text()  # no redis extra for AMQP


def test_arguments_are_checked_before_anything_is_written(startproject: Path) -> None:
    ctx = context_for(startproject)
    with pytest.raises(ToolError, match=r"unknown app.*nope.*the project's apps: polls"):
        run_setup(ctx, "--apps polls,nope")
    with pytest.raises(ToolError, match=r"invalid choice.*Usage: /celery:setup"):
        run_setup(ctx, "--backend mongo")
    with pytest.raises(ToolError, match="Usage: /celery:add-backend"):
        run_add_backend(ctx, "django-db redis")
    with pytest.raises(ToolError, match="run discovery first"):
        run_setup(ToolContext(project_root=startproject, journal=ctx.journal), "")
    assert ctx.journal.index.entries == []


def test_add_backend_switches_backends(startproject: Path) -> None:
    ctx = context_for(startproject)
    run_setup(ctx, "--backend none")
    message = run_add_backend(ctx, "redis")
    settings = (startproject / "mysite" / "settings.py").read_text()
    redis_url = 'os.environ.get("CELERY_RESULT_BACKEND", "redis://localhost:6379/1")'
    assert f"CELERY_RESULT_BACKEND = {redis_url}" in settings
    assert "CELERY_RESULT_BACKEND=redis://localhost:6379/1" in (startproject / ".env.example").read_text()
    assert "- mysite/settings.py: updated" in message and "Migrations" not in message
    message = run_add_backend(ctx, "django-cache")
    settings = (startproject / "mysite" / "settings.py").read_text()
    assert (
        settings.count("CELERY_RESULT_BACKEND =") == 1
        and 'CELERY_RESULT_BACKEND = "django-cache"' in settings
    )
    assert "was " + redis_url in message and "added CACHES with a celery_results database cache" in message
    assert 'CELERY_CACHE_BACKEND = "celery_results"' in settings and "django_celery_results" in settings
    assert ctx.decisions is not None and ctx.decisions.result_backend == "django-cache"


def test_migrations_back_up_an_existing_database_and_skip_when_nothing_is_pending(startproject: Path) -> None:
    ctx = context_for(startproject)
    assert run_manage(facts_of(ctx), "migrate", "--noinput").returncode == 0
    database = (startproject / "db.sqlite3").read_bytes()
    before = snapshot(startproject)
    run_setup(ctx, "--backend django-db")
    assert (startproject / "db.sqlite3").read_bytes() != database
    assert pending_migrations(facts_of(ctx)) == []
    rerun = context_for(startproject, "rerun")
    assert "nothing pending" in apply_migrations(rerun, ["django_celery_results"])
    assert rerun.journal.index.entries == []
    ctx.journal.rollback()
    assert snapshot(startproject) == before


def test_a_database_the_project_did_not_have_is_never_left_behind(startproject: Path) -> None:
    """SQLite creates a missing file on connect: reading the plan must not leave it, and undo of a run
    that migrated into a new file deletes it (before, the empty file was backed up as the original)."""
    database = startproject / "db.sqlite3"
    database.unlink()
    ctx = context_for(startproject)
    assert "auth.0001_initial" in pending_migrations(facts_of(ctx))  # no database: all pending
    assert not database.exists()
    run_setup(ctx, "--backend django-db")
    assert database.stat().st_size > 0
    ctx.journal.rollback()
    assert not database.exists()


def test_migration_failures_say_what_to_fix(startproject: Path) -> None:
    ctx = context_for(startproject)
    with pytest.raises(ToolError, match=r"django_celery_beat has no migrations.*not in INSTALLED_APPS"):
        apply_migrations(ctx, ["django_celery_beat"])
    settings = startproject / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + "\nimport celery_extension_that_is_missing\n")
    with pytest.raises(
        ToolError, match=r"(?s)No module named 'celery_extension_that_is_missing'.*Fix: install"
    ):
        apply_migrations(ctx, ["django_celery_results"])
    assert ctx.journal.index.entries == []


def test_eager_mode_in_the_run_settings_is_reported_or_turned_off_with_consent(tmp_path: Path) -> None:
    """cookiecutter-django's local.py runs every task inline: reported with file:line, set to False with
    --fix-eager (its test settings, outside the chain, stay as they are), and a second run changes nothing."""
    project = LAYOUTS["cookiecutter_celery"](tmp_path / "project")
    local = project / "config" / "settings" / "local.py"
    before = local.read_text()
    ctx = context_for(project, "report")
    line = before.splitlines().index("CELERY_TASK_ALWAYS_EAGER = True") + 1
    # what discovery records is what an interactive run asks about (the eager_mode question)
    assert facts_of(ctx).existing.eager_settings == [
        f"config/settings/local.py:{line} CELERY_TASK_ALWAYS_EAGER"
    ]
    reported = run_setup(ctx, "")
    assert "config/settings/local.py:" in reported and "needs consent (--fix-eager)" in reported
    assert local.read_text() == before
    fixed = run_setup(context_for(project, "fix"), "--fix-eager")
    assert "CELERY_TASK_ALWAYS_EAGER was True" in fixed
    assert local.read_text() == before.replace(
        "CELERY_TASK_ALWAYS_EAGER = True", "CELERY_TASK_ALWAYS_EAGER = False"
    )
    again = context_for(project, "again")
    assert facts_of(again).existing.eager_settings == []
    run_setup(again, "--fix-eager")
    assert again.journal.changed_files() == []


def test_a_literal_broker_url_is_reported_or_read_from_the_environment_with_consent(
    startproject: Path,
) -> None:
    """The user's `CELERY_BROKER_URL = "redis://..."` stays as written without consent (reported with
    file:line, .env.example says it is not read from the environment); with --env-urls Django reads the
    variable and, while it is unset, the very same URL."""
    settings = startproject / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + 'CELERY_BROKER_URL = "redis://localhost:6379/0"\n')
    reported = run_setup(context_for(startproject, "report"), "--no-beat")
    assert re.search(
        r"mysite/settings\.py:\d+: CELERY_BROKER_URL = \"redis://localhost:6379/0\" is written", reported
    )
    assert "needs consent (--env-urls)" in reported
    assert 'CELERY_BROKER_URL = "redis://localhost:6379/0"\n' in settings.read_text()
    example = (startproject / ".env.example").read_text()
    comment = " ".join(line.removeprefix("# ") for line in example.splitlines() if line.startswith("#"))
    assert "CELERY_BROKER_URL=" not in example and "--env-urls makes it read CELERY_BROKER_URL" in comment

    ctx = context_for(startproject, "consent")
    run_setup(ctx, "--no-beat --env-urls")
    line = 'CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0")\n'
    assert line in settings.read_text()
    assert "CELERY_BROKER_URL=redis://localhost:6379/0" in (startproject / ".env.example").read_text()
    shown = run_manage(
        facts_of(ctx), "shell", "-c", "from django.conf import settings; print(settings.CELERY_BROKER_URL)"
    )
    assert shown.returncode == 0 and shown.stdout.splitlines()[-1] == "redis://localhost:6379/0", shown.stderr
    again = context_for(startproject, "again")
    run_setup(again, "--no-beat --env-urls")
    assert again.journal.changed_files() == []
