"""Real Django projects for tests, made by `django-admin startproject` / `manage.py startapp`.

Building a project costs about a second, so each recipe is built once per session into a template folder
and copied for every test that needs a fresh one.
"""

from __future__ import annotations

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


def run(args: list[str], cwd: Path) -> None:
    subprocess.run(
        args,
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"},
    )


def make_startproject(dest: Path, name: str = "mysite", apps: tuple[str, ...] = ("polls",)) -> Path:
    """`django-admin startproject <name> dest`, then `startapp` for each app, listed as the tutorial does.

    The first app gets the tutorial's Question/Choice models (with migrations made), the rest stay empty.
    """
    dest.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "django", "startproject", name, str(dest)], cwd=dest)
    settings = dest / name / "settings.py"
    for index, app in enumerate(apps):
        run([sys.executable, "manage.py", "startapp", app], cwd=dest)
        config = f"{app.capitalize()}Config"
        text = settings.read_text()
        settings.write_text(
            text.replace("INSTALLED_APPS = [\n", f'INSTALLED_APPS = [\n    "{app}.apps.{config}",\n', 1)
        )
        if index == 0:
            (dest / app / "models.py").write_text(POLLS_MODELS)
            run([sys.executable, "manage.py", "makemigrations", app], cwd=dest)
    return dest
