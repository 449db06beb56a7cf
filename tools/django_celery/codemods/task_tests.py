"""A test module for the starter tasks, added to the app: `<app>/test_tasks.py` or `<app>/tests/test_tasks.py`.

It proves what the seed asks to test ("transaction-safe task dispatching"): the task is not sent while the
transaction is open, is sent once it commits (`captureOnCommitCallbacks(execute=True)` plays COMMIT in a
`TestCase`), runs eagerly with an effect the test checks, and is never sent when the transaction rolls
back. It needs no broker (`CELERY_TASK_ALWAYS_EAGER` under `override_settings`), runs under `manage.py
test` and pytest-django alike, and passes the project's linters (its line length is honoured, and its
imports are wrapped where ruff's isort wraps them). The row it processes is made the way the project's
own code makes one, `Model(...)` then `save()`: `objects.create()` passes `force_insert=True` to the
model's `save()`, which breaks a `save()` that saves twice (a slug made from the new primary key, say).

Only a tasks.py this tool generated gets a test (its functions are known); an existing test file is never
overwritten.
"""

from __future__ import annotations

from tools.django_celery.codemods.code_lines import call, from_import
from tools.django_celery.codemods.code_style import DEFAULT_LINE_LENGTH, mark_long_lines
from tools.django_celery.codemods.model_fields import creation_arguments
from tools.django_celery.codemods.tasks_module import (
    model_variable,
    render_tasks_module,
    roundtrip_function,
    snake_case,
    tasks_path,
)
from tools.django_celery.codemods.workspace import ProjectEdits
from tools.django_celery.facts import AppInfo

EAGER = ["CELERY_TASK_ALWAYS_EAGER=True", "CELERY_TASK_EAGER_PROPAGATES=True"]


def _join(folder: str, name: str) -> str:
    return name if folder in ("", ".") else f"{folder.rstrip('/')}/{name}"


def test_module_path(app: AppInfo, edits: ProjectEdits) -> tuple[str, str]:
    """Where the test goes and the relative-import prefix from there to the app package."""
    if edits.exists(_join(app.path, "tests/__init__.py")):
        return _join(app.path, "tests/test_tasks.py"), ".."
    return _join(app.path, "test_tasks.py"), "."


def _docstring(app: AppInfo) -> list[str]:
    return [
        f'"""Tests for the Celery tasks of the {app.label} app.',
        "",
        "No broker is needed: tasks run eagerly, in this process, and",
        "captureOnCommitCallbacks(execute=True) plays the part of COMMIT (a TestCase",
        "never commits, so on_commit callbacks would otherwise never run).",
        '"""',
    ]


Parts = tuple[list[str], list[str], list[str]]  # (library imports, local imports, class body)


def _ping_tests(app: AppInfo, limit: int, import_limit: int) -> Parts:
    """The parts of the test for an app without models: its `ping` task."""
    ping = roundtrip_function(app)
    imports = [
        "from unittest import mock",
        "",
        "from django.db import transaction",
        *from_import("django.test", ["TestCase", "override_settings"], import_limit),
    ]
    body = [
        f"    def test_{ping}_is_sent_only_after_commit(self):",
        *call("patch = mock.patch.object", [ping, '"delay"', f"wraps={ping}.delay"], 8, limit),
        "        with patch as sent:",
        "            with self.captureOnCommitCallbacks(execute=True):",
        f"                transaction.on_commit({ping}.delay)",
        "                sent.assert_not_called()  # nothing is sent before COMMIT",
        "            sent.assert_called_once_with()",
        "",
        f"    def test_{ping}_runs_eagerly(self):",
        f'        self.assertEqual({ping}.delay().get(), "pong")',
    ]
    return imports, from_import("{prefix}tasks", [ping], import_limit), body


def _model_tests(app: AppInfo, models_source: str | None, limit: int, import_limit: int) -> Parts:
    """The parts of the test for the count/process/queue tasks of the app's first model."""
    model = app.models[0]
    snake = snake_case(model)
    count, process, queue = roundtrip_function(app), f"process_{snake}", f"queue_process_{snake}"
    arguments = creation_arguments(models_source, model)
    needs_timezone = arguments is not None and any("timezone." in v for v in arguments.values())
    third_party = [
        "from django.db import transaction",
        *from_import("django.test", ["TestCase", "override_settings"], import_limit),
    ]
    if needs_timezone:
        third_party.append("from django.utils import timezone")
    local = [
        *from_import("{prefix}models", [model], import_limit),
        *from_import("{prefix}tasks", [count, process, queue], import_limit),
    ]
    body = [f"    def test_{process}_is_sent_only_after_commit(self):"]
    if arguments is not None:
        row = model_variable(model)
        fields = [f"{name}={value}" for name, value in arguments.items()]
        body += [
            *call(f"{row} = {model}", fields, 8, limit),
            f"        {row}.save()",
            *call("patch = mock.patch.object", [process, '"delay"', f"wraps={process}.delay"], 8, limit),
            f'        with patch as sent, self.assertLogs("{app.module}.tasks") as logs:',
            "            with self.captureOnCommitCallbacks(execute=True):",
            f"                {queue}({row}.pk)",
            "                sent.assert_not_called()  # nothing is sent before COMMIT",
            f"            sent.assert_called_once_with({row}.pk)",
            *call(
                "self.assertIn", [f'f"Processing {model} {{{row}.pk}}"', '"\\n".join(logs.output)'], 8, limit
            ),
        ]
    else:  # the row cannot be made generically: prove the dispatch, the effect is checked by the count
        body += [
            f'        with mock.patch.object({process}, "delay") as sent:',
            "            with self.captureOnCommitCallbacks(execute=True):",
            f"                {queue}(1)",
            "                sent.assert_not_called()  # nothing is sent before COMMIT",
            "            sent.assert_called_once_with(1)",
        ]
    body += [
        "",
        "    def test_nothing_is_sent_when_the_transaction_rolls_back(self):",
        f'        with mock.patch.object({process}, "delay") as sent:',
        "            with self.captureOnCommitCallbacks(execute=True) as callbacks:",
        "                with suppress(RuntimeError), transaction.atomic():",
        f"                    {queue}(1)",
        '                    raise RuntimeError("roll back")',
        "                sent.assert_not_called()",
        "            self.assertEqual(callbacks, [])  # the rollback discarded it",
        "        sent.assert_not_called()",
        "",
        f"    def test_{count}_runs_eagerly(self):",
        *call("self.assertEqual", [f"{count}.delay().get()", f"{model}.objects.count()"], 8, limit),
    ]
    return ["from contextlib import suppress", "from unittest import mock", "", *third_party], local, body


def render_task_tests(
    app: AppInfo,
    prefix: str,
    models_source: str | None,
    line_length: int = DEFAULT_LINE_LENGTH,
    import_length: int | None = None,
) -> str:
    """The test module for the starter tasks.py of `app` (see the module docstring).

    `import_length`: where ruff's isort wraps imports (`code_style.import_line_length`), when below
    `line_length`.
    """
    import_limit = min(line_length, import_length or line_length)
    if app.models:
        imports, local, body = _model_tests(app, models_source, line_length, import_limit)
        name = f"{app.models[0]}TaskTests"
    else:
        imports, local, body = _ping_tests(app, line_length, import_limit)
        name = f"{roundtrip_function(app).title().replace('_', '')}TaskTests"
    lines = [
        *_docstring(app),
        "",
        *imports,
        "",
        *(line.replace("{prefix}", prefix) for line in local),
        "",
        "",
        *call("@override_settings", EAGER, 0, line_length),
        f"class {name}(TestCase):",
        *body,
    ]
    return mark_long_lines("\n".join(lines) + "\n", line_length)


def ensure_task_tests(
    edits: ProjectEdits,
    app: AppInfo,
    line_length: int = DEFAULT_LINE_LENGTH,
    import_length: int | None = None,
) -> None:
    """Add the test module when the app's tasks.py is the one this tool generates and no test file exists."""
    tasks = edits.read(tasks_path(app))
    if tasks is None or tasks != render_tasks_module(app, line_length):
        return
    rel, prefix = test_module_path(app, edits)
    if edits.exists(rel):
        edits.note(rel, "kept as it is (an existing test module is never overwritten)")
        return
    models = edits.read(_join(app.path, "models.py"))
    code = render_task_tests(app, prefix, models, line_length, import_length)
    edits.write(rel, code, "tests: the task is sent only after COMMIT, runs eagerly, nothing on rollback")
