"""Live proof of task routing: a worker that consumes only the dedicated queues receives the routed tasks.

The static routing check shows the settings agree; this shows Celery itself routes as they say. It runs
on the embedded `filesystem://` broker in a temp folder (never on a real broker, where queues named like
the user's would reach the user's own workers), with the project's CELERY_TASK_QUEUES and default queue
restored on top of the verification overlay and results switched off. The worker is started with
`-Q <dedicated queues>` only, so a task that was not routed there is never received. For each dedicated
queue one task routed to it is sent with no explicit queue and a one-day countdown: the worker receives
it but never runs it (no side effect, no database access), and the temp broker goes away with it. The
proof per task is the worker's "received" line plus the broker's message file, whose name carries the
queue it travelled on.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from fnmatch import fnmatchcase
from pathlib import Path

from agent.checklist import CheckResult
from tools.django_celery.codemods.routing import read_routing, task_names
from tools.django_celery.codemods.settings_chain import project_chain
from tools.django_celery.codemods.source import disk_reader
from tools.django_celery.facts import Decisions, ProjectFacts
from tools.django_celery.live_overlay import OVERLAY_MODULE, build_overlay
from tools.django_celery.live_worker import CeleryProcess, LiveProcessError, ready_pattern, worker_command
from tools.django_celery.project_env import base_dir_of, run_json_probe
from tools.scratch import scratch_dir

PROBE = Path(__file__).resolve().parent / "probes" / "route_client.py"
ROUTE_SETTINGS = "djint_route_settings"
TITLE = "routed tasks reach a worker through their queues (live)"
STOP_GRACE_S = 1.0


def route_settings_source(facts: ProjectFacts) -> str:
    """The overlay on the overlay: the project's queues back, results off."""
    return (
        "\n".join(
            [
                '"""Routing check settings written by django-integrator; outside the project, temporary."""',
                f"from {OVERLAY_MODULE} import *  # noqa: F403",
                "import importlib as _djint_importlib",
                f"_djint_project = _djint_importlib.import_module({facts.settings_module!r})",
                'CELERY_TASK_QUEUES = getattr(_djint_project, "CELERY_TASK_QUEUES", None)',
                'CELERY_TASK_DEFAULT_QUEUE = getattr(_djint_project, "CELERY_TASK_DEFAULT_QUEUE", "celery")',
                "CELERY_RESULT_BACKEND = None",
                "CELERY_TASK_IGNORE_RESULT = True",
            ]
        )
        + "\n"
    )


def queue_of_message(processed: Path, task_id: str) -> str | None:
    """The queue a consumed message travelled on: kombu names its file `<time>_<uuid>.<queue>.msg`."""
    for message in processed.glob("*.msg"):
        if task_id in message.read_text(errors="replace"):
            return message.name.split(".", 1)[1].removesuffix(".msg")
    return None


def _probe(facts: ProjectFacts, env: dict[str, str], names: list[str], timeout: float) -> dict:
    argv = [facts.interpreter, str(PROBE), "--app", facts.celery_target]
    argv += ["--send", *names]
    return run_json_probe(argv, cwd=base_dir_of(facts), env=env, timeout=timeout, what="routing probe")


def verify_routes_live(facts: ProjectFacts, decisions: Decisions, timeout: float = 60) -> CheckResult:
    deadline = time.monotonic() + timeout

    def remaining() -> float:
        return max(deadline - time.monotonic(), 1.0)

    config = read_routing(project_chain(facts, disk_reader(Path(facts.root))))
    routes = config.routes or []
    dedicated = list(dict.fromkeys(r.queue for r in routes if r.queue != config.default))
    tasks = [name for names in task_names(facts, disk_reader(Path(facts.root))).values() for name in names]
    chosen: dict[str, str] = {}  # dedicated queue -> one task the routes send there (the first route wins)
    for task in tasks:
        queue = next((r.queue for r in routes if fnmatchcase(task, r.pattern)), config.default)
        if queue in dedicated:
            chosen.setdefault(queue, task)
    problems = [f"no task of the project is routed to queue {q}" for q in dedicated if q not in chosen]
    proofs: list[str] = []
    if chosen:
        proofs, found = _exercise(facts, decisions, dedicated, chosen, remaining)
        problems += found
    else:
        problems.append(f"no task is routed to a dedicated queue ({', '.join(dedicated) or 'none declared'})")
    consumed = (
        f"worker consuming only {', '.join(dedicated)} (embedded broker, tasks sent with a 1-day countdown)"
    )
    evidence = "; ".join([*(f"PROBLEM {p}" for p in problems), consumed, *proofs])
    return CheckResult(key="routing_live", number=0, title=TITLE, passed=not problems, evidence=evidence)


def _exercise(
    facts: ProjectFacts,
    decisions: Decisions,
    dedicated: list[str],
    chosen: dict[str, str],
    remaining: Callable[[], float],
) -> tuple[list[str], list[str]]:
    """Start the worker on the dedicated queues, send the chosen tasks through the router: (proofs, problems)."""
    proofs, problems = [], []
    with scratch_dir("routes") as folder:
        overlay = build_overlay(facts, decisions, Path(folder), None)
        (Path(folder) / f"{ROUTE_SETTINGS}.py").write_text(route_settings_source(facts))
        env = {**overlay.env, "DJANGO_SETTINGS_MODULE": ROUTE_SETTINGS}
        env.pop("CELERY_RESULT_BACKEND", None)
        command = worker_command(
            facts.interpreter, facts.celery_target, overlay.node_prefix, ",".join(dedicated)
        )
        worker = CeleryProcess(command, base_dir_of(facts), env)
        try:
            worker.start()
            worker.wait_for(ready_pattern(overlay.node_prefix), remaining(), "its ready line")
            client = _probe(facts, env, list(chosen.values()), remaining())
            if not client.get("ok"):
                problems.append(client.get("error") or "the routing probe failed")
            problems += [
                f"{name} is not registered in the app; not sent" for name in client.get("skipped", [])
            ]
            for sent in client.get("sent", []):
                received = re.compile(rf"Task {re.escape(sent['task'])}\[{re.escape(sent['id'])}\] received")
                try:
                    worker.wait_for(received, remaining(), f"the receipt of {sent['task']}")
                except LiveProcessError as exc:
                    problems.append(
                        f"{sent['task']} (router: {sent['router_queue']}) never reached the worker: {exc}"
                    )
                    continue
                travelled = queue_of_message(overlay.folder / "processed", sent["id"])
                expected = next(queue for queue, task in chosen.items() if task == sent["task"])
                line = f"{sent['task']} -> queue {travelled} (router said {sent['router_queue']})"
                (proofs if travelled == expected else problems).append(line)
        except LiveProcessError as exc:
            problems.append(f"the worker {exc}. Log tail:\n{worker.tail()}")
        finally:
            # Nothing here needs a warm shutdown (no task runs, the broker is a temp folder): 1 s, then SIGKILL.
            leftover = worker.stop(grace=STOP_GRACE_S)
            problems += [f"worker processes {leftover} survived SIGKILL"] if leftover else []
    return proofs, problems
