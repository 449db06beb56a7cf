"""Which functions of a tasks.py are Celery tasks, and how they are declared.

`@shared_task` is what reusable Django apps should use (no import of the project's app); `@app.task` with
the project's own app imported from its module (`<pkg>.celery`, or wherever the project keeps it) works
too; anything else (`@task` of Celery 3, `@x.task` of some other app) is reported.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

import libcst as cst

from tools.django_celery.codemods.cst_tools import dotted_name
from tools.django_celery.codemods.settings_chain import imported_module
from tools.django_celery.codemods.source import PythonFile, Reader, module_file

TaskKind = Literal["shared_task", "project_app", "wrapper", "other"]


@dataclass
class TaskDecorator:
    function: str
    decorator: str  # as written, without arguments, e.g. "shared_task" or "app.task"
    kind: TaskKind
    where: str


def _project_app_names(module: cst.Module, app_sources: Collection[str]) -> set[str]:
    """Names bound by `from <pkg>.celery import app` / `from <pkg> import celery_app` (and aliases), where
    `app_sources` are the modules the project's app can be imported from."""
    names = set()
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
                continue
            source = dotted_name(small.module) if small.module is not None else None
            if small.relative or source not in app_sources:
                continue
            for alias in small.names:
                bound = alias.asname.name if alias.asname else alias.name
                names.add(dotted_name(bound) or "")  # type: ignore[arg-type]
    return names


def _kind(name: str, app_names: set[str]) -> TaskKind | None:
    if name in ("shared_task", "celery.shared_task"):
        return "shared_task"
    owner, _, attr = name.rpartition(".")
    if attr == "task" and owner in app_names:
        return "project_app"
    if attr in ("task", "periodic_task") or name in ("task", "periodic_task"):
        return "other"
    return None


def _task_wrappers(module: cst.Module, app_names: set[str]) -> set[str]:
    """Module-level functions that build a task by calling @shared_task / @app.task inside (a project's
    own `@non_concurrent_task`): functions they decorate are Celery tasks too."""
    wrappers = set()

    class Calls(cst.CSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.makes_task = False

        def visit_Call(self, node: cst.Call) -> None:
            if _kind(dotted_name(node.func) or "", app_names) in ("shared_task", "project_app"):
                self.makes_task = True

    for statement in module.body:
        if isinstance(statement, cst.FunctionDef):
            calls = Calls()
            statement.body.visit(calls)
            if calls.makes_task:
                wrappers.add(statement.name.value)
    return wrappers


def task_decorators(rel: str, text: str, app_sources: Collection[str]) -> list[TaskDecorator]:
    source = PythonFile.parse(rel, text)
    app_names = _project_app_names(source.module, app_sources)
    wrappers = _task_wrappers(source.module, app_names)
    found = []
    for statement in source.module.body:
        if not isinstance(statement, cst.FunctionDef):
            continue
        for decorator in statement.decorators:
            target = decorator.decorator
            name = dotted_name(target.func if isinstance(target, cst.Call) else target) or ""
            kind = "wrapper" if name in wrappers else _kind(name, app_names)
            if kind is not None:
                found.append(TaskDecorator(statement.name.value, name, kind, source.where(decorator)))
                break
    return found


def reexported_tasks(
    rel: str, text: str, base_dir: str, reader: Reader, app_sources: Collection[str]
) -> list[TaskDecorator]:
    """Tasks a tasks.py imports from another project module (`from .jobs.tasks import send`): Celery's
    autodiscovery imports tasks.py, so the imported tasks register just as if they were defined there."""
    found = []
    for statement in PythonFile.parse(rel, text).module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
                continue
            target = module_file(base_dir, imported_module(small, rel, base_dir), reader)
            target_text = reader(target) if target is not None and target != rel else None
            if target is None or target_text is None:
                continue
            names = {dotted_name(alias.name) for alias in small.names}
            found += [t for t in task_decorators(target, target_text, app_sources) if t.function in names]
    return found
