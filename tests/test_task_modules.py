"""Whose is a tasks.py: Celery's (declared, built by a project decorator, re-exported, or importing Celery),
another task queue's (django-q plain functions, huey's @huey.task, rq's @job), or none at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tool_support import startproject_facts
from tools.django_celery.facts import AppInfo, ProjectFacts
from tools.django_celery.task_modules import tasks_module_owner, tasks_module_owners

MODULES = {
    "shared": "from celery import shared_task\n\n\n@shared_task\ndef ping():\n    return 'pong'\n",
    "project_app": "from mysite.celery import app\n\n\n@app.task\ndef ping():\n    return 1\n",
    "reexport": "from shop.jobs.tasks import ping  # noqa: F401\n",
    "celery_no_task_yet": "from celery.utils.log import get_task_logger\n\nlogger = get_task_logger(__name__)\n",
    "django_q": "from django.core.mail import send_mail\n\n\ndef send(to):\n    send_mail('s', 'm', None, [to])\n",
    "huey": "from huey.contrib.djhuey import HUEY as huey\n\n\n@huey.task()\ndef ping():\n    return 1\n",
    "rq": "from django_rq import job\n\n\n@job\ndef ping():\n    return 1\n",
    "empty": "",
}
EXPECTED = {
    "shared": "celery",
    "project_app": "celery",
    "reexport": "celery",
    "celery_no_task_yet": "celery",
    "django_q": "other",
    "huey": "other",
    "rq": "other",
    "empty": "other",
}


def _facts(root: Path, labels: list[str]) -> ProjectFacts:
    apps = [AppInfo(label=label, module=label, listed_as=label, path=label) for label in labels]
    return startproject_facts(root).model_copy(update={"apps": apps})


@pytest.mark.parametrize("kind", sorted(MODULES))
def test_owner_of_a_tasks_module(tmp_path: Path, kind: str) -> None:
    (tmp_path / kind).mkdir()
    (tmp_path / kind / "tasks.py").write_text(MODULES[kind])
    (tmp_path / "shop" / "jobs").mkdir(parents=True)
    (tmp_path / "shop" / "jobs" / "tasks.py").write_text(MODULES["shared"])
    facts = _facts(tmp_path, [kind])
    assert tasks_module_owner(facts, facts.apps[0]) == EXPECTED[kind]


def test_a_tasks_package_and_an_app_without_one(tmp_path: Path) -> None:
    (tmp_path / "orders" / "tasks").mkdir(parents=True)
    (tmp_path / "orders" / "tasks" / "__init__.py").write_text(MODULES["shared"])
    (tmp_path / "blog").mkdir()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "tasks.py").write_text("def (:\n")
    owners = tasks_module_owners(_facts(tmp_path, ["orders", "blog", "broken"]))
    assert owners == {"orders": "celery", "blog": "none", "broken": "other"}
