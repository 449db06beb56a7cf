"""The static checklist checks: they fail on an untouched project with evidence worth acting on, pass after
/celery:setup + /celery:add-backend, and catch the mistakes they exist for."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import celery_support
from tests.celery_support import context_for, facts_of
from tools.django_celery.backend import run_add_backend
from tools.django_celery.checks import STATIC_CHECKS
from tools.django_celery.codemods.secret_scan import gitignore_ignores, scan_line
from tools.django_celery.discovery import discover_project
from tools.django_celery.facts import Decisions
from tools.django_celery.migrations import check_migrations
from tools.django_celery.setup import run_setup

project_template = celery_support.project_template  # fixtures
project_copy = celery_support.project_copy
CHOSEN = Decisions(task_apps=["polls"], result_backend="django-db", beat=True)


def run_check(project: Path, key: str, decisions: Decisions = CHOSEN) -> tuple[bool, str]:
    outcome = STATIC_CHECKS[key](discover_project(project), decisions)
    return outcome.passed, outcome.evidence


def test_every_check_fails_on_the_untouched_project(startproject: Path) -> None:
    facts = discover_project(startproject)
    expected = {
        "celery_module": "mysite/celery.py does not exist",
        "init_loads_app": "mysite/__init__.py does not import app from .celery",
        "celery_settings": "CELERY_BROKER_URL is not set: Celery would fall back to AMQP",
        "shared_task": "polls/tasks.py does not exist",
        "on_commit": "no transaction.on_commit(...) or delay_on_commit(...) dispatch",
        "installed_apps": "django_celery_results is not in INSTALLED_APPS (mysite/settings.py)",
        "env_vars": ".env.example is missing at the project root",
    }
    for key, check in STATIC_CHECKS.items():
        outcome = check(facts, CHOSEN)
        assert not outcome.passed, key
        assert expected[key] in outcome.evidence, (key, outcome.evidence)
    migrations = check_migrations(facts, CHOSEN)
    assert not migrations.passed and "django_celery_beat: no migrations in the plan" in migrations.evidence


def test_every_check_passes_after_setup_and_add_backend(startproject: Path) -> None:
    ctx = context_for(startproject)
    run_setup(ctx, "--beat --apps polls")
    run_add_backend(ctx, "django-db")
    facts = discover_project(startproject)
    for key, check in STATIC_CHECKS.items():
        outcome = check(facts, CHOSEN)
        assert outcome.passed, (key, outcome.evidence)
    assert "mysite/celery.py:" in STATIC_CHECKS["celery_module"](facts, CHOSEN).evidence
    assert "polls/tasks.py:" in STATIC_CHECKS["on_commit"](facts, CHOSEN).evidence
    assert "read from the environment" in STATIC_CHECKS["env_vars"](facts, CHOSEN).evidence
    migrations = check_migrations(facts, CHOSEN)
    assert migrations.passed and "django_celery_results: all" in migrations.evidence


VIEWS = """from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Question
from .tasks import process_question


def create(text):
    with transaction.atomic():
        question = Question.objects.create(question_text=text)
        {dispatch}


@receiver(post_save, sender=Question)
def announce(sender, instance, **kwargs):
    {receiver}
"""


@pytest.mark.parametrize(
    ("dispatch", "receiver", "passed", "evidence"),
    [
        (
            "process_question.delay(question.pk)",
            "pass",
            False,
            "polls/views.py:12: process_question.delay inside transaction.atomic(): can run before COMMIT",
        ),
        (
            "transaction.on_commit(lambda: process_question.delay(question.pk))",
            "process_question.delay(instance.pk)",
            False,
            "polls/views.py:17: process_question.delay inside a signal receiver",
        ),
        (
            "transaction.on_commit(lambda: process_question.delay(question.pk))",
            "pass",
            True,
            "polls/views.py:12: process_question.delay deferred by transaction.on_commit",
        ),
        (
            "process_question.delay_on_commit(question.pk)",
            "process_question.delay_on_commit(instance.pk)",
            True,
            "polls/views.py:17: delay_on_commit",
        ),
    ],
)
def test_on_commit_check_finds_dispatch_inside_transactions(
    startproject: Path, dispatch: str, receiver: str, passed: bool, evidence: str
) -> None:
    (startproject / "polls" / "views.py").write_text(VIEWS.format(dispatch=dispatch, receiver=receiver))
    consented = CHOSEN.model_copy(update={"rewrite_dispatch": True})  # unsafe sites left: a failure
    outcome_passed, outcome_evidence = run_check(startproject, "on_commit", consented)
    assert outcome_passed is passed
    assert evidence in outcome_evidence


def test_unsafe_dispatch_the_tool_wrote_fails_without_consent(startproject: Path) -> None:
    """Consent is about the user's code: a `.delay()` inside atomic() that the agent wrote always fails."""
    ctx = context_for(startproject)
    run_setup(ctx, "--no-beat")
    views = VIEWS.format(dispatch="process_question.delay(question.pk)", receiver="pass")
    (startproject / "polls" / "views.py").write_text(views)  # the user's own code
    no_consent = CHOSEN.model_copy(update={"rewrite_dispatch": None, "beat": False})
    users_passed, users_evidence = run_check(startproject, "on_commit", no_consent)
    assert users_passed, users_evidence
    assert "REPORTED polls/views.py:12" in users_evidence

    ctx.journal.write_text("polls/services.py", views)  # the same code, written by the agent
    ours_passed, ours_evidence = run_check(startproject, "on_commit", no_consent)
    assert not ours_passed
    assert "polls/services.py:12: process_question.delay inside transaction.atomic()" in ours_evidence
    assert "written by this tool" in ours_evidence


@pytest.mark.parametrize(
    ("tasks", "passed", "evidence"),
    [
        (
            "from mysite.celery import app\n\n\n@app.task\ndef ping():\n    return 1\n",
            True,
            "polls/tasks.py:4: ping uses @app.task of the project's app (also fine)",
        ),
        (
            "from celery import shared_task\n\n\n@shared_task(bind=True)\ndef ping(self):\n    return 1\n",
            True,
            "polls/tasks.py:4: ping uses @shared_task",
        ),
        (
            "from celery.decorators import task\n\n\n@task\ndef ping():\n    return 1\n",
            False,
            "PROBLEM polls/tasks.py:4: ping uses @task; use @shared_task",
        ),
        (
            "from celery import shared_task\n\n\ndef helper():\n    return 1\n",
            False,
            "PROBLEM polls/tasks.py: no function decorated as a Celery task",
        ),
        (
            "def helper():\n    return 1\n",
            False,
            "PROBLEM polls/tasks.py: holds no Celery task and does not import Celery (another task queue's "
            "module, or plain functions); it is never rewritten: choose another app for Celery's tasks (--apps)",
        ),
    ],
)
def test_shared_task_check(startproject: Path, tasks: str, passed: bool, evidence: str) -> None:
    (startproject / "polls" / "tasks.py").write_text(tasks)
    assert run_check(startproject, "shared_task") == (passed, evidence)


def test_app_module_checks_explain_a_half_done_integration(project_copy: Callable[[str], Path]) -> None:
    project = project_copy("half_done")
    passed, evidence = run_check(project, "celery_module")
    assert not passed
    assert "mysite/celery.py:8: DJANGO_SETTINGS_MODULE is set after Celery() is created" in evidence
    assert "namespace None" in evidence and "autodiscover_tasks(lambda: settings.INSTALLED_APPS)" in evidence
    assert run_check(project, "init_loads_app") == (
        False,
        "mysite/__init__.py does not import app from .celery",
    )
    passed, evidence = run_check(project, "celery_settings")
    assert not passed and "CELERY_RESULT_BACKEND is not set (chosen: django-db)" in evidence
    deprecated = "CELERY_ALWAYS_EAGER is deprecated; use CELERY_TASK_ALWAYS_EAGER"
    assert f"{deprecated} (kept: renaming needs consent)" in evidence  # reported, not a problem
    assert f"{deprecated};" not in evidence.split("; 1 CELERY_")[0].split("PROBLEM")[-1]
    consented = CHOSEN.model_copy(update={"rename_settings": True})
    _, consented_evidence = run_check(project, "celery_settings", consented)
    assert re.search(rf"PROBLEM mysite/settings.py:\d+: {deprecated}", consented_evidence)
    (project / "mysite" / "__init__.py").write_text("from .celery import app as celery_app\n")
    assert run_check(project, "init_loads_app") == (
        False,
        "mysite/__init__.py:1: imports the app, but mysite/__init__.py: __all__ lacks it",
    )


def test_env_vars_check_flags_what_we_wrote_not_what_was_there(startproject: Path) -> None:
    ctx = context_for(startproject)
    run_setup(ctx, "--backend none")
    settings = "mysite/settings.py"
    text = (startproject / settings).read_text()
    assert "django-insecure-" in text  # startproject's own SECRET_KEY: the user's, not reported
    passed, _ = run_check(startproject, "env_vars", Decisions(task_apps=["polls"], result_backend="none"))
    assert passed
    leaked = 'CELERY_RESULT_BACKEND = "redis://:Hunter2Secret@redis:6379/1"\n'
    ctx.journal.write_text(settings, text + leaked)
    line = len((text + leaked).splitlines())
    passed, evidence = run_check(
        startproject, "env_vars", Decisions(task_apps=["polls"], result_backend="none")
    )
    assert not passed
    assert f"{settings}:{line}: CELERY_RESULT_BACKEND is hard-coded; read it from the environment" in evidence
    assert f"{settings}:{line}: a password inside a URL" in evidence
    assert "django-insecure" not in evidence
    ctx.journal.write_text(".gitignore", ".env*\n")
    passed, evidence = run_check(
        startproject, "env_vars", Decisions(task_apps=["polls"], result_backend="none")
    )
    assert ".gitignore ignores .env.example too" in evidence


@pytest.mark.parametrize(
    ("value", "hard_coded"),
    [
        ('"redis://cache:6379/1"', True),
        ('"redis://" + HOST', True),  # HOST = "cache:6379" is a literal too
        ('f"redis://{HOST}/1"', True),
        ('config.get("celery", "backend")', False),  # a project's own config layer (pretalx)
        ('"django-db"', False),  # a backend name, not a URL
    ],
)
def test_only_a_url_written_in_the_code_is_hard_coded(
    startproject: Path, value: str, hard_coded: bool
) -> None:
    settings = startproject / "mysite" / "settings.py"
    layer = "import configparser\n\nconfig = configparser.RawConfigParser({'backend': ''}, default_section='celery')\n"
    text = settings.read_text() + f'\n{layer}HOST = "cache:6379"\nCELERY_RESULT_BACKEND = {value}\n'
    settings.write_text(text)
    users = Decisions(task_apps=["polls"], result_backend="none")
    _passed, evidence = run_check(startproject, "env_vars", users)
    assert "is hard-coded" not in evidence  # the user's own code: reported, never failed without consent
    assert ("REPORTED mysite/settings.py:" in evidence and "--env-urls" in evidence) == hard_coded
    _passed, evidence = run_check(startproject, "env_vars", users.model_copy(update={"env_urls": True}))
    assert ("CELERY_RESULT_BACKEND is hard-coded" in evidence) == hard_coded


def test_a_literal_url_fails_item_9_when_it_holds_a_password_or_this_tool_wrote_it(
    startproject: Path,
) -> None:
    """Consent is about the user's development default; a password in the repository, or a literal the agent
    wrote, fails whatever was consented to."""
    ctx = context_for(startproject)
    run_setup(ctx, "--no-beat")
    settings = startproject / "mysite" / "settings.py"
    text = settings.read_text()
    settings.write_text(text + '\nCELERY_RESULT_BACKEND = "redis://:Xk29fjQ0zPq@cache:6379/1"\n')
    passed, evidence = run_check(startproject, "env_vars", CHOSEN)
    assert not passed and "CELERY_RESULT_BACKEND is hard-coded" in evidence
    assert "Xk29fjQ0zPq" not in evidence  # evidence masks URL passwords

    settings.write_text(text)
    ctx.journal.write_text("mysite/settings.py", text + '\nCELERY_RESULT_BACKEND = "redis://cache:6379/1"\n')
    passed, evidence = run_check(startproject, "env_vars", CHOSEN)
    assert not passed and "CELERY_RESULT_BACKEND is hard-coded" in evidence


@pytest.mark.parametrize(
    ("line", "found"),
    [
        ('BROKER = "amqp://app:Xk29fjQ0z@rabbit//"', ["a password inside a URL"]),
        ("CELERY_BROKER_URL=amqp://app:mysite_dev_your_password_here@rabbit//", []),
        ('KEY = "sk-proj-4f9aB27cD81eF03gH56iJ"', ["an OpenAI-style API key"]),
        ('TOKEN = "3f9c2a7b1e4d8f6a0b5c9e2d7a1f4b8c"', ["a long random-looking token (3f9c2a...)"]),
        ("CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True", []),
        ('CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"', []),
        ('url = os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0")', []),
    ],
)
def test_secret_scan(line: str, found: list[str]) -> None:
    assert scan_line(line) == found


def test_gitignore_matching() -> None:
    rules = ".env\n.env.*\n!.env.example\n"
    assert gitignore_ignores(rules, ".env") and gitignore_ignores(rules, ".env.local")
    assert not gitignore_ignores(rules, ".env.example")
    assert gitignore_ignores("/.env*\n", ".env.example") and not gitignore_ignores("*.pyc\n", ".env")


def test_checks_read_fresh_facts(startproject: Path) -> None:
    ctx = context_for(startproject)
    run_setup(ctx, "--backend none --no-beat")
    none = Decisions(task_apps=["polls"], result_backend="none")
    facts = facts_of(ctx)  # discovered before setup: the checks read the files, not these facts
    assert all(check(facts, none).passed for check in STATIC_CHECKS.values())
    assert check_migrations(facts, none).passed
