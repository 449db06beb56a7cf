"""`django-integrator demo`: make a real sample project, integrate Celery into it, verify it, report.

The sample is what a Django developer gets from the tutorial: `django-admin startproject mysite`,
`manage.py startapp polls` listed as `polls.apps.PollsConfig`, the Question/Choice models and their
migration — built with the current interpreter, which therefore needs Django and Celery installed
(`pip install 'django-integrator[demo]'`).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

POLLS_MODELS = """from django.db import models


class Question(models.Model):
    question_text = models.CharField(max_length=200)
    pub_date = models.DateTimeField("date published")

    def __str__(self):
        return self.question_text


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE)
    choice_text = models.CharField(max_length=200)
    votes = models.IntegerField(default=0)

    def __str__(self):
        return self.choice_text
"""

DEMO_REQUIREMENTS = ("django", "celery", "django_celery_results")


class DemoError(RuntimeError):
    """The demo cannot run here; the message says what to install."""


def missing_demo_packages() -> list[str]:
    return [name for name in DEMO_REQUIREMENTS if importlib.util.find_spec(name) is None]


def _run(args: list[str], cwd: Path, python: Path) -> None:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    completed = subprocess.run([str(python), *args], cwd=cwd, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise DemoError(f"`{' '.join(args)}` failed in {cwd}:\n{completed.stderr.strip()}")


def make_sample_project(
    dest: Path, name: str = "mysite", apps: tuple[str, ...] = ("polls",), python: Path | None = None
) -> Path:
    """`startproject <name> dest` + `startapp` per app (listed by AppConfig); the first app gets models."""
    python = python or Path(sys.executable)
    dest.mkdir(parents=True, exist_ok=True)
    _run(["-m", "django", "startproject", name, str(dest)], dest, python)
    settings = dest / name / "settings.py"
    for index, app in enumerate(apps):
        _run(["manage.py", "startapp", app], dest, python)
        entry = f'    "{app}.apps.{app.capitalize()}Config",\n'
        settings.write_text(
            settings.read_text().replace("INSTALLED_APPS = [\n", "INSTALLED_APPS = [\n" + entry, 1)
        )
        if index == 0:
            (dest / app / "models.py").write_text(POLLS_MODELS)
            _run(["manage.py", "makemigrations", app], dest, python)
    return dest
