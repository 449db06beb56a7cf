"""The production-grade part of /celery:setup: starter tasks with their tests, routing, dispatch, docs.

Kept apart from setup.py's wiring so each concern stays small: what is generated for the user's apps
(tasks.py, a test module proving dispatch-after-commit, routes to dedicated queues), what happens to
their existing dispatch sites (deferred to COMMIT with consent, else reported), and what the user is told
in CELERY.md.
"""

from __future__ import annotations

from tools.django_celery.codemods.code_style import configured_line_length, import_line_length
from tools.django_celery.codemods.dispatch_rewrite import SiteOutcome, rewrite_unsafe_dispatch
from tools.django_celery.codemods.docs import DocFacts
from tools.django_celery.codemods.routing import ensure_routing
from tools.django_celery.codemods.task_tests import ensure_task_tests, test_module_path
from tools.django_celery.codemods.tasks_module import ensure_tasks_module, generated_functions, tasks_path
from tools.django_celery.codemods.workspace import ProjectEdits
from tools.django_celery.facts import AppInfo, Decisions, ProjectFacts


def dispatch_warnings(outcomes: list[SiteOutcome], consent: bool) -> list[str]:
    """What the user must know about dispatch sites that can send a task before COMMIT."""
    left = [o for o in outcomes if not o.rewritten]
    if not consent and left:
        sites = "; ".join(f"{o.location}: {o.call}(...) inside {o.context}" for o in left)
        return [
            f"{len(left)} dispatch site(s) can send a task before COMMIT (the worker may not find the row, "
            f"or run after a rollback): {sites}. Not rewritten: that needs consent (--rewrite-dispatch)."
        ]
    warnings = [o.line() for o in left]
    if any(o.rewritten for o in outcomes):
        warnings.append(
            "Deferred dispatch sends the task when the transaction commits and never after a rollback; a "
            "broker error now surfaces from the commit (the row is saved) instead of inside the block."
        )
    return warnings


def quality_steps(
    edits: ProjectEdits, facts: ProjectFacts, decisions: Decisions, line_length: int
) -> DocFacts:
    """Tasks, tests, routing and consented dispatch rewrites for the chosen apps; what the docs describe.

    `decisions.task_apps` must name apps of the project (setup validates them first).
    """
    apps: list[AppInfo] = [app for label in decisions.task_apps if (app := facts.app(label)) is not None]
    tasks: dict[str, list[str]] = {}
    for app in apps:
        created = ensure_tasks_module(edits, app, line_length)
        tasks[tasks_path(app)] = generated_functions(app) if created else app.task_names
    queues = ensure_routing(
        edits, facts, decisions.queues, configured_line_length(edits.read, [".", facts.base_dir])
    )
    tests = []
    import_length = import_line_length(edits.read, [".", facts.base_dir])
    for app in apps:
        ensure_task_tests(edits, app, line_length, import_length)
        test_module = test_module_path(app, edits)[0]
        tests += [test_module] if edits.exists(test_module) else []
    # The decision framework's "immediate" strategy means the user keeps sending at once: no rewrite then.
    rewrite = decisions.rewrite_dispatch and decisions.dispatch != "immediate"
    if decisions.rewrite_dispatch and not rewrite:
        edits.warn("Immediate dispatch was chosen, so existing .delay() calls were not rewritten.")
    outcomes = rewrite_unsafe_dispatch(edits, facts, rewrite, line_length)
    for warning in dispatch_warnings(outcomes, rewrite):
        edits.warn(warning)
    return DocFacts(backend=decisions.result_backend, env={}, tasks=tasks, tests=tests, queues=queues)
