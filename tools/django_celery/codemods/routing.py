"""Task routing to dedicated queues, when the user asks for it: settings, and the static check of them.

A queue is chosen per app (`emails:polls` sends every task of the polls app to "emails"; a bare `polls`
names the queue after the app) or per task (`emails:polls.tasks.send_mail`). The settings declare every
queue the routes use plus the default one (a worker started without `-Q` consumes exactly the declared
queues, so an undeclared default queue would never be served) and route by task name:

    CELERY_TASK_DEFAULT_QUEUE = "celery"
    CELERY_TASK_QUEUES = (Queue("celery"), Queue("emails"))
    CELERY_TASK_ROUTES = {"polls.tasks.*": {"queue": "emails"}}

The check reads those settings back and proves they are consistent: every route matches a task of the
project, every queue a route or a call site (`apply_async(queue=...)`) names is declared, and every task
therefore lands on a declared queue.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

import libcst as cst

from tools.base import ToolError
from tools.django_celery.codemods.imports import ensure_from_import
from tools.django_celery.codemods.settings_block import Setting, ensure_settings_block
from tools.django_celery.codemods.settings_chain import SettingsChain, celery_file_chain
from tools.django_celery.codemods.source import Reader
from tools.django_celery.codemods.tasks_module import tasks_path
from tools.django_celery.codemods.workspace import ProjectEdits
from tools.django_celery.facts import ProjectFacts

DEFAULT_QUEUE = "celery"
QUEUE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
ROUTING_SETTINGS = ("CELERY_TASK_DEFAULT_QUEUE", "CELERY_TASK_QUEUES", "CELERY_TASK_ROUTES")


@dataclass(frozen=True)
class Route:
    pattern: str  # a task name or a glob over task names, e.g. "polls.tasks.*"
    queue: str


def task_names(facts: ProjectFacts, reader: Reader) -> dict[str, list[str]]:
    """App label -> registered names of the tasks in its tasks.py (explicit `name=` or module.function)."""
    names: dict[str, list[str]] = {}
    for app in facts.apps:
        try:
            tree = ast.parse(reader(tasks_path(app)) or "")
        except SyntaxError:
            continue
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef):
                continue
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if not ast.unparse(target).endswith(("shared_task", "task")):
                    continue
                explicit = [
                    k.value.value
                    for k in (decorator.keywords if isinstance(decorator, ast.Call) else [])
                    if k.arg == "name"
                    and isinstance(k.value, ast.Constant)
                    and isinstance(k.value.value, str)
                ]
                names.setdefault(app.label, []).append(
                    explicit[0] if explicit else f"{app.module}.tasks.{node.name}"
                )
                break
    return names


def plan_routes(
    specs: list[str], facts: ProjectFacts, tasks: dict[str, list[str]], default: str
) -> list[Route]:
    """Routes for the user's queue specs; a ToolError names any spec that routes nothing."""
    routes: list[Route] = []
    every_task = [name for names in tasks.values() for name in names]
    for spec in specs:
        queue, _, selector = spec.partition(":")
        selector = selector or queue
        if not QUEUE_NAME.match(queue) or queue == default:
            raise ToolError(
                f"queue {queue!r} in {spec!r}: use a name of letters, digits, '.', '-' or '_' other than "
                f"the default queue {default!r}"
            )
        app = facts.app(selector)
        if app is not None and tasks.get(app.label):
            glob = f"{app.module}.tasks.*"
            routes.append(Route(glob, queue))
            routes += [Route(name, queue) for name in tasks[app.label] if not fnmatchcase(name, glob)]
        elif selector in every_task:
            routes.append(Route(selector, queue))
        else:
            known = ", ".join(sorted(tasks)) or "none"
            raise ToolError(
                f"{spec!r} routes no task: name an app that has tasks ({known}) or a task name, as "
                f"queue:app or queue:app.tasks.function"
            )
    return routes


def routing_settings(routes: list[Route], default: str) -> list[Setting]:
    queues = [default, *dict.fromkeys(r.queue for r in routes)]
    declared = "".join(f'    Queue("{q}"),\n' for q in queues)
    mapped = "".join(f'    "{r.pattern}": {{"queue": "{r.queue}"}},\n' for r in routes)
    return [
        Setting("CELERY_TASK_DEFAULT_QUEUE", f'"{default}"', "tasks without a route go here"),
        Setting("CELERY_TASK_QUEUES", f"(\n{declared})"),
        Setting("CELERY_TASK_ROUTES", f"{{\n{mapped}}}"),
    ]


def ensure_routing(
    edits: ProjectEdits, facts: ProjectFacts, specs: list[str], line_length: int | None = None
) -> list[str]:
    """Write the routing settings for `specs` (never over existing routing); the queues a worker should
    consume, the default one first ([] when nothing was routed)."""
    if not specs:
        return []
    chain = celery_file_chain(facts, edits.read)
    default = _literal(chain, "CELERY_TASK_DEFAULT_QUEUE") or DEFAULT_QUEUE
    routes = plan_routes(specs, facts, task_names(facts, edits.read), default)
    present = [name for name in ROUTING_SETTINGS[1:] if chain.is_set(name)]
    if present:
        existing = read_routing(chain)
        wanted_queues = [default, *dict.fromkeys(r.queue for r in routes)]
        if existing.routes == routes and existing.queues == wanted_queues:
            edits.note(facts.celery_settings_file)  # a second run: already routed as asked
            return wanted_queues
        edits.warn(
            f"{', '.join(present)} already set in the settings: kept them, no routes added for "
            f"{', '.join(specs)}. Edit them by hand; the routing check reports what does not match."
        )
        return []
    header = "Celery routing: dedicated queues for these tasks"
    added = ensure_settings_block(edits, facts, routing_settings(routes, default), header, line_length)
    if "CELERY_TASK_QUEUES" in added:
        rel = facts.celery_settings_file
        first_party = {a.module.split(".")[0] for a in facts.apps} | {facts.project_package.split(".")[0]}
        module = ensure_from_import(cst.parse_module(edits.read(rel) or ""), "kombu", "Queue", first_party)
        edits.write(rel, module.code, "from kombu import Queue")
    return [default, *dict.fromkeys(r.queue for r in routes)]


def _literal(chain: SettingsChain, name: str) -> object:
    found = chain.assignments(name)
    try:
        return ast.literal_eval(found[-1].code) if found else None
    except (ValueError, SyntaxError):
        return None


@dataclass
class RoutingConfig:
    """The routing the settings declare, as far as it can be read without running code."""

    default: str
    default_where: str | None
    queues: list[str] | None  # declared queue names; None = not declared (queues are created on demand)
    queues_where: str | None
    routes: list[Route] | None  # None = no CELERY_TASK_ROUTES
    routes_where: str | None
    unreadable: list[str]  # settings whose value is code (a router function, a computed list)


def _queue_names(node: cst.BaseExpression) -> list[str] | None:
    """`(Queue("a"), Queue("b", ...))`, `[...]` or `{"a": {...}}` -> ["a", "b"]; None for anything else."""
    if isinstance(node, cst.Dict):
        keys = [e.key for e in node.elements if isinstance(e, cst.DictElement)]
        names = [k.evaluated_value for k in keys if isinstance(k, cst.SimpleString)]
        return names if len(names) == len(node.elements) else None  # type: ignore[return-value]
    if not isinstance(node, cst.Tuple | cst.List):
        return None
    names = []
    for element in node.elements:
        call = element.value
        first = call.args[0].value if isinstance(call, cst.Call) and call.args else None
        if not isinstance(first, cst.SimpleString):
            return None
        names.append(str(first.evaluated_value))
    return names


def read_routing(chain: SettingsChain) -> RoutingConfig:
    unreadable: list[str] = []
    default, queues, routes = DEFAULT_QUEUE, None, None
    wheres: dict[str, str | None] = dict.fromkeys(ROUTING_SETTINGS)
    for name in ROUTING_SETTINGS:
        found = chain.assignments(name)
        if not found or found[-1].value is None:
            continue
        assignment = found[-1]
        wheres[name] = assignment.where
        if name == "CELERY_TASK_QUEUES":
            queues = _queue_names(assignment.value)
            value_ok = queues is not None
        else:
            try:
                value = ast.literal_eval(assignment.code)
            except (ValueError, SyntaxError):
                value = None
            if name == "CELERY_TASK_DEFAULT_QUEUE" and isinstance(value, str):
                default = value
            elif name == "CELERY_TASK_ROUTES" and isinstance(value, dict):
                routes = [
                    Route(pattern, target.get("queue", ""))
                    for pattern, target in value.items()
                    if isinstance(pattern, str) and isinstance(target, dict)
                ]
            value_ok = value is not None and (name != "CELERY_TASK_ROUTES" or routes is not None)
        if not value_ok:
            unreadable.append(f"{assignment.where}: {name}")
    return RoutingConfig(
        default,
        wheres["CELERY_TASK_DEFAULT_QUEUE"],
        queues,
        wheres["CELERY_TASK_QUEUES"],
        routes,
        wheres["CELERY_TASK_ROUTES"],
        unreadable,
    )
