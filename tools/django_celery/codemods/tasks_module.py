"""Write a starter `tasks.py` into each chosen app that has none (an existing one is never touched).

An app with models gets a read-only counting task (live verification round-trips it through the worker
and the result backend), a "process one row" task that takes a primary key and retries transient
database errors, and a dispatch helper that waits for the transaction to commit. An app without models
gets a `ping` task.
"""

from __future__ import annotations

import re

from tools.django_celery.codemods.code_style import DEFAULT_LINE_LENGTH, mark_long_lines
from tools.django_celery.codemods.templates_io import render
from tools.django_celery.codemods.workspace import ProjectEdits
from tools.django_celery.facts import AppInfo

RESERVED_NAMES = {"pk", "logger", "partial", "transaction", "shared_task", "OperationalError"}


def snake_case(name: str) -> str:
    """`BlogPost` -> `blog_post`, `HTTPLog` -> `http_log`."""
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", spaced).lower()


def plural(word: str) -> str:
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    return word + "s"


def roundtrip_function(app: AppInfo) -> str:
    """The side-effect-free task generated for the app: `count_<models>` or `ping`."""
    return f"count_{plural(snake_case(app.models[0]))}" if app.models else "ping"


def roundtrip_task_name(app: AppInfo) -> str:
    """The registered name of that task, e.g. "polls.tasks.count_questions" (verification runs it)."""
    return f"{app.module}.tasks.{roundtrip_function(app)}"


def tasks_path(app: AppInfo) -> str:
    return "tasks.py" if app.path in ("", ".") else f"{app.path.rstrip('/')}/tasks.py"


def _decorator(task_name: str, line_length: int) -> str:
    line = f'@shared_task(name="{task_name}")'
    return line if len(line) <= line_length else f'@shared_task(\n    name="{task_name}"\n)'


def model_variable(model: str) -> str:
    """The local variable a row of `model` is bound to in generated code (`question`, or `row`)."""
    snake = snake_case(model)
    return snake if snake not in RESERVED_NAMES else "row"


def render_tasks_module(app: AppInfo, line_length: int = DEFAULT_LINE_LENGTH) -> str:
    """The starter tasks.py, laid out for the project's line length (formatted as `ruff format` would)."""
    values = {
        "label": app.label,
        "module": app.module,
        "count_func": roundtrip_function(app),
        "count_decorator": _decorator(roundtrip_task_name(app), line_length),
    }
    if not app.models:
        return mark_long_lines(render("tasks_ping.py.tmpl", **values), line_length)
    model = app.models[0]
    code = render(
        "tasks_models.py.tmpl",
        **values,
        model=model,
        snake=snake_case(model),
        variable=model_variable(model),
    )
    return mark_long_lines(code, line_length)


def generated_functions(app: AppInfo) -> list[str]:
    """The functions the starter tasks.py defines: the round-trip task, then process/queue for a model."""
    functions = [roundtrip_function(app)]
    if app.models:
        snake = snake_case(app.models[0])
        functions += [f"process_{snake}", f"queue_process_{snake}"]
    return functions


def ensure_tasks_module(edits: ProjectEdits, app: AppInfo, line_length: int = DEFAULT_LINE_LENGTH) -> bool:
    """Write the starter tasks.py when the app has none; True when it was written now."""
    rel = tasks_path(app)
    if edits.exists(rel):
        edits.note(rel, "kept as it is (an existing tasks.py is never overwritten)")
        return False
    edits.write(rel, render_tasks_module(app, line_length), ", ".join(generated_functions(app)))
    return True
