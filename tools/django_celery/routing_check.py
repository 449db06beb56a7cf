"""The routing check (numbered 0, key "routing"): routes, declared queues, tasks and call sites agree.

Applies when the user asked for dedicated queues (the routing this tool writes). Statically: every route
matches at least one task of the project, every queue a route or a call site (`apply_async(queue=...)`,
`send_task(..., queue=...)`, `.set(queue=...)`) names is declared, and the default queue is declared too
(a worker without `-Q` consumes only declared queues).
The live half — a worker consuming only the dedicated queues receives the routed tasks — is
`live_routes.verify_routes_live`.
"""

from __future__ import annotations

import ast
from fnmatch import fnmatchcase
from pathlib import Path

from agent.checklist import CheckResult
from tools.django_celery.codemods.routing import RoutingConfig, read_routing, task_names
from tools.django_celery.codemods.settings_chain import project_chain
from tools.django_celery.codemods.source import disk_reader
from tools.django_celery.facts import Decisions, ProjectFacts
from tools.django_celery.project_scan import parse_python, walk_files
from tools.sandbox import relative_to_project

QUEUE_CALLS = {"apply_async", "apply_async_on_commit", "send_task", "set", "signature", "s"}
TITLE = "task routes and declared queues agree"


def queue_call_sites(root: Path) -> list[tuple[str, str]]:
    """("path:line", queue) of every call that names a queue explicitly with a string."""
    found = []
    for file in walk_files(root):
        tree = parse_python(file) if b"queue" in file.read_bytes() else None
        for node in ast.walk(tree) if tree is not None else ():
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in QUEUE_CALLS
            ):
                for kw in node.keywords:
                    if (
                        kw.arg == "queue"
                        and isinstance(kw.value, ast.Constant)
                        and isinstance(kw.value.value, str)
                    ):
                        found.append((f"{relative_to_project(root, file)}:{node.lineno}", kw.value.value))
    return found


def task_queues(config: RoutingConfig, tasks: list[str]) -> dict[str, str]:
    """Task name -> the queue it is sent to (the first matching route wins, as in Celery)."""
    routes = config.routes or []
    return {
        task: next((r.queue for r in routes if fnmatchcase(task, r.pattern)), config.default)
        for task in tasks
    }


def routing_applies(facts: ProjectFacts, decisions: Decisions) -> bool:
    """Routing this tool was asked to write is checked; a project's own routing is its own business."""
    return bool(decisions.queues)


def check_routing(facts: ProjectFacts, decisions: Decisions) -> CheckResult:
    root = Path(facts.root)
    reader = disk_reader(root)
    config = read_routing(project_chain(facts, reader))
    tasks = [name for names in task_names(facts, reader).values() for name in names]
    problems = [f"{where} is code, not checked statically" for where in config.unreadable]
    found = []
    if decisions.queues and config.routes is None:
        problems.append(
            f"queues {', '.join(decisions.queues)} were asked for but CELERY_TASK_ROUTES is not set"
        )
    for route in config.routes or []:
        matched = [t for t in tasks if fnmatchcase(t, route.pattern)]
        if not matched:
            problems.append(
                f"{config.routes_where}: route {route.pattern!r} -> {route.queue} matches no task"
            )
    declared = set(config.queues) if config.queues is not None else None
    if declared is not None:
        found.append(f"{config.queues_where}: declared queues {', '.join(config.queues or [])}")
        wanted = [(config.routes_where, r.queue) for r in config.routes or []]
        wanted += [(config.default_where or "default", config.default)]
        wanted += queue_call_sites(root)
        problems += [
            f"{where}: queue {queue!r} is not declared in CELERY_TASK_QUEUES"
            for where, queue in wanted
            if queue not in declared
        ]
    mapping = task_queues(config, tasks)
    found.append("tasks -> queues: " + (", ".join(f"{t} -> {q}" for t, q in mapping.items()) or "no task"))
    evidence = "; ".join([*(f"PROBLEM {p}" for p in dict.fromkeys(problems)), *found])
    return CheckResult(key="routing", number=0, title=TITLE, passed=not problems, evidence=evidence)
