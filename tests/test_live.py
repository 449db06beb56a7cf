"""Live verification against real projects: a real worker, a real broker, a real round trip.

The integrated project is written here by hand, exactly as Celery's "First steps with Django" shows,
so these tests do not depend on the codemods. It has two apps with tasks: `polls` (a `count_questions`
task with an explicit name, the round-trip candidate) and `blog` (a task that needs an argument).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import kombu
import pytest
import redis

from tests.projects import make_startproject, run
from tests.tool_support import startproject_facts
from tools.django_celery.facts import AppInfo, Decisions, ProjectFacts
from tools.django_celery.live import autodiscovery_check, installed_apps_check, verify_django, verify_live
from tools.django_celery.live_overlay import BrokerChoiceError, build_overlay, check_broker_scheme, mask_url

CELERY_PY = """import os

from celery import Celery

# Set the default Django settings module for the 'celery' program.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")

app = Celery("mysite")

# Using a string here means the worker doesn't have to serialize
# the configuration object to child processes.
# - namespace='CELERY' means all celery-related configuration keys
#   should have a `CELERY_` prefix.
app.config_from_object("django.conf:settings", namespace="CELERY")

# Load task modules from all registered Django apps.
app.autodiscover_tasks()


@app.task(bind=True, ignore_result=True)
def debug_task(self):
    print(f"Request: {self.request!r}")
"""

INIT_PY = """# This will make sure the app is always imported when
# Django starts so that shared_task will use this app.
from .celery import app as celery_app

__all__ = ("celery_app",)
"""

SETTINGS_BLOCK = """
# Celery
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "django-db")
CELERY_RESULT_EXTENDED = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TRACK_STARTED = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
"""

POLLS_TASKS = """from celery import shared_task

from .models import Question


@shared_task(name="polls.tasks.count_questions")
def count_questions():
    return Question.objects.count()
"""

BLOG_TASKS = """from celery import shared_task


@shared_task
def send_digest(user_id):
    return user_id
"""

REDIS_URL = "redis://127.0.0.1:6379/0"
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
CLOSED_REDIS_URL = "redis://127.0.0.1:6390/0"
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432"
POSTGRES_SETTINGS = """
DATABASES = {{
    "default": {{
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "{name}",
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
    }}
}}
"""


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def integrate(project: Path) -> None:
    """Write the documented Celery integration into a startproject project and migrate it."""
    package = project / "mysite"
    (package / "celery.py").write_text(CELERY_PY)
    (package / "__init__.py").write_text(INIT_PY)
    settings = package / "settings.py"
    text = settings.read_text().replace(
        "from pathlib import Path\n", "import os\nfrom pathlib import Path\n", 1
    )
    text = text.replace("INSTALLED_APPS = [\n", 'INSTALLED_APPS = [\n    "django_celery_results",\n', 1)
    settings.write_text(text + SETTINGS_BLOCK)
    (project / "polls" / "tasks.py").write_text(POLLS_TASKS)
    (project / "blog" / "tasks.py").write_text(BLOG_TASKS)
    run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=project)
    with sqlite3.connect(project / "db.sqlite3") as db:
        db.execute(
            "INSERT INTO polls_question (question_text, pub_date) VALUES ('What is new?', '2026-01-01 00:00')"
        )


@pytest.fixture(scope="session")
def integrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = make_startproject(tmp_path_factory.mktemp("live") / "mysite", apps=("polls", "blog"))
    integrate(project)
    return project


@pytest.fixture
def project(integrated_template: Path, copy_project: Callable[[Path, str], Path]) -> Path:
    return copy_project(integrated_template, "mysite")


def facts_for(project: Path) -> ProjectFacts:
    """The facts discovery would report for the integrated test project (two apps with tasks)."""
    apps = [
        AppInfo(
            label=label,
            module=label,
            listed_as=f"{label}.apps.{label.capitalize()}Config",
            path=label,
            has_tasks_module=True,
        )
        for label in ("polls", "blog")
    ]
    return startproject_facts(project).model_copy(update={"apps": apps})


DECISIONS = Decisions(task_apps=["polls", "blog"])


def tree_hashes(root: Path) -> dict[str, str]:
    """Every file and folder under root, files with their sha256: any change shows up."""
    hashes = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        hashes[key] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "<dir>"
    return hashes


def processes_in(folder: Path) -> list[str]:
    """Command lines of live processes whose working directory is inside `folder` (a /proc scan)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if state != "Z" and (cwd == folder or folder in cwd.parents):
            found.append(f"{entry.name}: {command}")
    return found


@pytest.fixture(autouse=True)
def _no_process_survives(tmp_path: Path):
    yield
    assert processes_in(tmp_path.resolve()) == []


def assert_passes(report) -> None:
    failures = [f"{check.key}: {check.evidence}" for check in report.checks if not check.passed]
    assert not failures, "\n".join(failures) + f"\nerror: {report.error}\n{report.worker_log_tail}"
    assert [check.number for check in report.checks] == [7, 10, 11]


@pytest.mark.live
def test_embedded_broker_proves_items_and_leaves_the_project_byte_identical(project: Path) -> None:
    before = tree_hashes(project)
    report = verify_live(facts_for(project), DECISIONS)
    assert_passes(report)
    assert report.broker == "filesystem://" and report.embedded_broker
    assert "polls.tasks.count_questions" in report.registered_by_app["polls"]
    assert "blog.tasks.send_digest" in report.registered_by_app["blog"]
    assert report.roundtrip is not None
    assert report.roundtrip.task == "polls.tasks.count_questions"
    assert report.roundtrip.result == 1  # the question in the user's database, read from the copy
    assert report.roundtrip.stored_in_backend
    assert "polls: polls.tasks.count_questions" in report.check("autodiscovery").evidence
    assert report.leftover_pids == []
    assert tree_hashes(project) == before


@pytest.mark.live
@pytest.mark.services
@pytest.mark.parametrize("backend", ["django-db", "redis"])
def test_redis_broker(project: Path, backend: str) -> None:
    if not port_open(6379):
        pytest.skip("Redis is not listening on 127.0.0.1:6379")
    before = tree_hashes(project)
    decisions = Decisions(task_apps=["polls", "blog"], result_backend=backend)
    report = verify_live(facts_for(project), decisions, broker_url=REDIS_URL)
    assert_passes(report)
    assert report.broker == REDIS_URL and not report.embedded_broker
    assert report.roundtrip is not None and report.roundtrip.result == 1
    assert report.roundtrip.stored_in_backend
    assert tree_hashes(project) == before
    assert not redis.Redis.from_url(REDIS_URL).exists(f"_kombu.binding.{report.queue}")


@pytest.mark.live
@pytest.mark.services
def test_rabbitmq_broker_with_masked_password(project: Path) -> None:
    if not port_open(5672):
        pytest.skip("RabbitMQ is not listening on 127.0.0.1:5672")
    report = verify_live(facts_for(project), DECISIONS, broker_url=RABBITMQ_URL)
    assert_passes(report)
    assert report.broker == "amqp://guest:**@127.0.0.1:5672//"
    assert "guest:guest" not in report.model_dump_json()
    with kombu.Connection(RABBITMQ_URL) as connection, pytest.raises(connection.channel_errors):
        connection.default_channel.queue_declare(report.queue, passive=True)  # auto-deleted


@pytest.mark.live
def test_unreachable_broker_fails_early_without_a_worker(project: Path) -> None:
    if port_open(6390):
        pytest.skip("something listens on 127.0.0.1:6390, the port this test needs closed")
    report = verify_live(facts_for(project), DECISIONS, broker_url=CLOSED_REDIS_URL)
    assert report.error is not None
    assert "cannot reach the broker at redis://127.0.0.1:6390/0 (Connection refused)" in report.error
    assert "start it or set CELERY_BROKER_URL" in report.error
    assert report.node is None and "worker_start" not in report.elapsed_s
    assert not report.check("worker_starts").passed
    assert "redis://127.0.0.1:6390/0" in report.check("worker_starts").evidence
    assert report.check("installed_apps").passed


@pytest.mark.live
def test_missing_autodiscover_fails_item_11_naming_the_apps(project: Path) -> None:
    celery_py = project / "mysite" / "celery.py"
    celery_py.write_text(celery_py.read_text().replace("app.autodiscover_tasks()\n", ""))
    report = verify_live(facts_for(project), DECISIONS)
    assert report.check("worker_starts").passed
    item11 = report.check("autodiscovery")
    assert not item11.passed
    assert "no task of polls, blog is registered in the live worker" in item11.evidence
    assert report.roundtrip is not None and report.roundtrip.task == "celery.accumulate"
    assert "no project task" in item11.evidence


@pytest.mark.live
def test_broken_tasks_module_fails_the_worker_with_its_log(project: Path) -> None:
    tasks = project / "polls" / "tasks.py"
    tasks.write_text(tasks.read_text().replace("import Question", "import Question, Missing"))
    report = verify_live(facts_for(project), DECISIONS)
    item10 = report.check("worker_starts")
    assert not item10.passed
    assert "exited with code" in item10.evidence
    assert "ImportError" in item10.evidence and "Missing" in item10.evidence
    assert "ImportError" in report.worker_log_tail
    assert not report.check("autodiscovery").passed


@pytest.mark.live
@pytest.mark.services
def test_postgresql_database_is_used_as_is_and_keeps_no_result_row(project: Path) -> None:
    if not port_open(5432):
        pytest.skip("PostgreSQL is not listening on 127.0.0.1:5432")
    import psycopg

    name = f"djint_live_{secrets.token_hex(4)}"
    with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        settings = project / "mysite" / "settings.py"
        settings.write_text(settings.read_text() + POSTGRES_SETTINGS.format(name=name))
        run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=project)
        with psycopg.connect(f"{POSTGRES_URL}/{name}", autocommit=True) as db:
            db.execute("INSERT INTO polls_question (question_text, pub_date) VALUES ('Why?', now())")
        facts = facts_for(project).model_copy(
            update={"database_engine": "django.db.backends.postgresql", "database_name": name}
        )
        report = verify_live(facts, DECISIONS)
        assert_passes(report)
        assert report.roundtrip is not None and report.roundtrip.result == 1
        assert report.roundtrip.stored_in_backend
        with psycopg.connect(f"{POSTGRES_URL}/{name}") as db:
            rows = db.execute("SELECT count(*) FROM django_celery_results_taskresult").fetchone()
        assert rows == (0,)
    finally:
        with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.live
def test_without_result_backend_the_round_trip_is_read_from_the_worker_log(project: Path) -> None:
    settings = project / "mysite" / "settings.py"
    text = settings.read_text()
    settings.write_text(
        text.replace('CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "django-db")\n', "")
    )
    report = verify_live(facts_for(project), Decisions(task_apps=["polls", "blog"], result_backend="none"))
    assert_passes(report)
    assert report.roundtrip is not None
    assert report.roundtrip.result == "1" and not report.roundtrip.stored_in_backend
    assert "succeeded in" in report.worker_log_tail


@pytest.mark.live
def test_verify_django_passes_and_reports_a_broken_setting(project: Path) -> None:
    facts = facts_for(project)
    assert verify_django(facts).passed
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + '\nINSTALLED_APPS += ["no_such_app"]\n')
    check = verify_django(facts)
    assert not check.passed
    assert "no_such_app" in check.evidence


def test_installed_apps_check_names_what_is_missing() -> None:
    decisions = Decisions(task_apps=["polls"], result_backend="django-db", beat=True)
    backend = "result backend django-db"
    check = installed_apps_check(
        ["django.contrib.admin", "django_celery_results"], decisions, "mysite.settings", backend
    )
    assert not check.passed and check.number == 7
    assert "Add django_celery_beat to INSTALLED_APPS" in check.evidence
    apps = ["django_celery_results.apps.CeleryResultConfig", "django_celery_beat"]
    assert installed_apps_check(apps, decisions, "mysite.settings", backend).passed
    none = Decisions(task_apps=[], result_backend="none")
    assert installed_apps_check([], none, "s", "result backend none").passed


def test_broker_choice_and_masking() -> None:
    assert mask_url("redis://:s3cret@cache:6380/0") == "redis://:**@cache:6380/0"
    assert mask_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    with pytest.raises(BrokerChoiceError, match="memory:// lives inside one process"):
        check_broker_scheme("memory://")
    with pytest.raises(BrokerChoiceError, match="no fanout"):
        check_broker_scheme("sqla+sqlite:////tmp/broker.db")
    check_broker_scheme("amqp://guest:guest@localhost:5672//")


def test_overlay_keeps_passwords_off_disk_and_copies_the_database(project: Path, tmp_path: Path) -> None:
    folder = tmp_path / "overlay"
    folder.mkdir()
    decisions = Decisions(task_apps=["polls"], result_backend="redis")
    overlay = build_overlay(facts_for(project), decisions, folder, "redis://:s3cret@127.0.0.1:6379/0")
    assert overlay.env["CELERY_BROKER_URL"] == "redis://:s3cret@127.0.0.1:6379/0"
    assert overlay.env["CELERY_RESULT_BACKEND"] == "redis://:s3cret@127.0.0.1:6379/1"
    assert overlay.env["DJANGO_SETTINGS_MODULE"] == "djint_verify_settings"
    assert all(b"s3cret" not in path.read_bytes() for path in folder.rglob("*") if path.is_file())
    assert overlay.database_copy is not None
    assert overlay.database_copy.read_bytes() == (project / "db.sqlite3").read_bytes()


def test_item_11_names_a_client_that_never_got_an_inspect_reply_instead_of_listing_no_tasks() -> None:
    client = {"ok": False, "node": "djint-1@vm", "error": "TimeoutError: worker djint-1@vm did not answer"}
    item11 = autodiscovery_check(["polls"], client, None)
    assert not item11.passed
    assert (
        item11.evidence == "worker djint-1@vm not inspected: TimeoutError: worker djint-1@vm did not answer"
    )
