"""The task rules of the hygiene check, over every task function in the apps' tasks.py (read, never imported)."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from tools.django_celery.authorship import Authorship
from tools.django_celery.codemods.source import Reader
from tools.django_celery.codemods.tasks_module import snake_case, tasks_path
from tools.django_celery.facts import ProjectFacts
from tools.django_celery.hygiene_rules import Rule, number

BROAD_EXCEPTIONS = {"Exception", "BaseException"}
INSTANCE_NAMES = {"instance", "obj", "object", "model"}


@dataclass
class TaskFunction:
    rel: str
    node: ast.FunctionDef
    options: dict[str, ast.expr]  # keyword arguments of the task decorator
    uses_task_logger: bool  # the module logs through celery.utils.log.get_task_logger
    ours: bool  # the module was written by this tool

    @property
    def where(self) -> str:
        return f"{self.rel}:{self.node.lineno} {self.node.name}"


def _is_task_decorator(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    text = ast.unparse(target)
    return text in ("shared_task", "task") or text.endswith((".shared_task", ".task"))


def task_functions(facts: ProjectFacts, reader: Reader, wrote: Authorship) -> list[TaskFunction]:
    found = []
    for app in facts.apps:
        rel = tasks_path(app)
        try:
            tree = ast.parse(reader(rel) or "")
        except SyntaxError:
            continue
        logger = any(
            (isinstance(n, ast.Name) and n.id == "get_task_logger")
            or (isinstance(n, ast.Attribute) and n.attr == "get_task_logger")
            for n in ast.walk(tree)
        )
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef):
                continue
            decorator = next((d for d in node.decorator_list if _is_task_decorator(d)), None)
            if decorator is None:
                continue
            options = (
                {k.arg: k.value for k in decorator.keywords if k.arg}
                if isinstance(decorator, ast.Call)
                else {}
            )
            found.append(TaskFunction(rel, node, options, logger, rel in wrote.created))
    return found


def explicit_names(tasks: list[TaskFunction]) -> Rule:
    rule = Rule("every task has an explicit name")
    for task in tasks:
        if "name" in task.options:
            rule.details.append(f"{task.where}: name={ast.unparse(task.options['name'])}")
        else:
            rule.problem(f"{task.where}: no name=, so renaming the module renames the task", task.ours)
    return rule


def primary_keys(tasks: list[TaskFunction], facts: ProjectFacts) -> Rule:
    rule = Rule("tasks take primary keys, not model instances")
    models = {snake_case(model) for app in facts.apps for model in app.models} | INSTANCE_NAMES
    for task in tasks:
        params = [a.arg for a in task.node.args.args if a.arg not in ("self", "task")]
        suspicious = [p for p in params if p in models]
        if suspicious:
            rule.problem(
                f"{task.where}({', '.join(params)}): pass {suspicious[0]}_id and re-read the row", task.ours
            )
        else:
            rule.details.append(f"{task.where}({', '.join(params)})")
    return rule


def bounded_retries(tasks: list[TaskFunction]) -> Rule:
    rule = Rule("automatic retries only for named exceptions, with backoff and a ceiling")
    for task in tasks:
        retried = task.options.get("autoretry_for")
        if retried is None:
            continue
        names = {ast.unparse(e).rsplit(".", 1)[-1] for e in getattr(retried, "elts", [retried])}
        problems = []
        if names & BROAD_EXCEPTIONS:
            problems.append(
                f"autoretry_for={ast.unparse(retried)} retries bugs too; name the transient errors"
            )
        backoff = task.options.get("retry_backoff")
        if backoff is None or (isinstance(backoff, ast.Constant) and not backoff.value):
            problems.append("no retry_backoff")
        ceiling = task.options.get("max_retries")
        if isinstance(ceiling, ast.Constant) and ceiling.value is None:
            problems.append("max_retries=None retries forever")
        for problem in problems:
            rule.problem(f"{task.where}: {problem}", task.ours)
        if not problems:
            limit = ast.unparse(ceiling) if ceiling is not None else "3 (Celery's default)"
            rule.details.append(
                f"{task.where}: autoretry_for={ast.unparse(retried)}, backoff, max_retries={limit}"
            )
    if not rule.details:
        rule.details.append("no task retries automatically")
    return rule


def task_logging(tasks: list[TaskFunction]) -> Rule:
    rule = Rule("tasks log through get_task_logger")
    for task in tasks:
        prints = [
            n for n in ast.walk(task.node) if isinstance(n, ast.Call) and ast.unparse(n.func) == "print"
        ]
        if prints:
            rule.problem(
                f"{task.where}: print() at line {prints[0].lineno}; use get_task_logger(__name__)", task.ours
            )
        elif task.uses_task_logger:
            rule.details.append(f"{task.rel}: get_task_logger")
    rule.details = list(dict.fromkeys(rule.details))
    return rule


def task_time_limits(tasks: list[TaskFunction], rule: Rule, hard_limit: float | None) -> None:
    """Per-task limits join the global time-limit rule: soft below hard, and below the global hard limit."""
    for task in tasks:
        soft = (
            number(ast.unparse(task.options["soft_time_limit"]))
            if "soft_time_limit" in task.options
            else None
        )
        hard = number(ast.unparse(task.options["time_limit"])) if "time_limit" in task.options else hard_limit
        if soft is not None and hard is not None and soft >= hard:
            rule.problem(
                f"{task.where}: soft_time_limit {soft:g} is not below the hard limit {hard:g}", task.ours
            )
        elif soft is not None:
            rule.details.append(
                f"{task.where}: soft {soft:g} s < hard {hard:g} s"
                if hard
                else f"{task.where}: soft {soft:g} s"
            )
