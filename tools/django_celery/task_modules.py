"""Whose is an app's tasks.py: Celery's, another task queue's, or is there none?

`tasks.py` is the conventional name for django-q, huey, rq and dramatiq functions too (vulnman/vulnman's
`apps/reporting/tasks.py` holds plain functions django-q's `async_task` runs). Such a module is the
project's own business: Celery's autodiscovery imports it harmlessly, but it holds no Celery task, so it
must neither be expected to register one in the worker nor be chosen to hold the tasks we write (an
existing tasks.py is never rewritten). A module is Celery's when it declares a task through Celery
(`@shared_task`, the project app's `@app.task`, a project decorator built on them), re-exports one from
another project module, or imports Celery at all (an app that is still empty of tasks, or Celery 3's
`@task`, which item 5 then reports).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import libcst as cst

from tools.base import ToolError
from tools.django_celery.codemods.cst_tools import dotted_name
from tools.django_celery.codemods.source import PythonFile, Reader, disk_reader
from tools.django_celery.codemods.task_scan import TaskDecorator, reexported_tasks, task_decorators
from tools.django_celery.codemods.tasks_module import tasks_path
from tools.django_celery.facts import AppInfo, ProjectFacts

ModuleOwner = Literal["none", "celery", "other"]
CELERY_KINDS = ("shared_task", "project_app", "wrapper")


def celery_tasks(facts: ProjectFacts, rel: str, text: str, reader: Reader) -> list[TaskDecorator]:
    """The task decorators of a tasks.py, or of the tasks it re-exports from another project module."""
    return task_decorators(rel, text, facts.celery_app_sources) or reexported_tasks(
        rel, text, facts.base_dir, reader, facts.celery_app_sources
    )


def _imports_celery(rel: str, text: str) -> bool:
    for statement in PythonFile.parse(rel, text).module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Import):
                modules = [dotted_name(alias.name) or "" for alias in small.names]
            elif isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative:
                modules = [dotted_name(small.module) or ""]
            else:
                continue
            if any(module == "celery" or module.startswith("celery.") for module in modules):
                return True
    return False


def tasks_module_owner(facts: ProjectFacts, app: AppInfo, reader: Reader | None = None) -> ModuleOwner:
    """Who owns the app's tasks module: "none" (there is none), "celery", or "other" (not Celery).

    The module is what Celery's autodiscovery imports: `tasks.py`, else a `tasks/` package's `__init__`.
    """
    reader = reader or disk_reader(Path(facts.root))
    rel = tasks_path(app)
    text = reader(rel)
    if text is None:
        rel = rel.removesuffix(".py") + "/__init__.py"
        text = reader(rel)
    if text is None:
        return "none"
    try:
        tasks = celery_tasks(facts, rel, text, reader)
        ours = any(task.kind in CELERY_KINDS for task in tasks) or _imports_celery(rel, text)
    except ToolError:  # not Python we can parse: not a module to write tasks into or expect tasks from
        return "other"
    return "celery" if ours else "other"


def tasks_module_owners(facts: ProjectFacts) -> dict[str, ModuleOwner]:
    """Every local app's label with the owner of its tasks module."""
    reader = disk_reader(Path(facts.root))
    return {app.label: tasks_module_owner(facts, app, reader) for app in facts.apps}
