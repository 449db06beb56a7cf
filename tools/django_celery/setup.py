"""`/celery:setup [--apps a,b] [--beat | --no-beat] [--backend ...] [--broker URL] [--queues q:app,...]
[--rename-settings | --no-rename-settings] [--rewrite-dispatch | --no-rewrite-dispatch]`.

Integrates Celery the way Celery's "First steps with Django" does, production-grade: the app module, the
package `__init__`, CELERY_* settings read from the environment, INSTALLED_APPS, starter tasks with a test
module proving they are sent only after COMMIT, routing to dedicated queues when asked for, dependencies,
`.env.example` / `.gitignore`, CELERY.md (or a README section), and the migrations of the chosen apps.
Changes to the user's own code need consent (renaming deprecated setting names, deferring `.delay()` calls
that run inside a transaction); without it they are reported with file and line. Explicit arguments
override the decisions of the analysis phase. Every step is idempotent, and nothing is written unless every
step succeeded (they run on a `ProjectEdits` workspace, committed through the journal at the end).
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import NoReturn, get_args
from urllib.parse import urlsplit

from tools.base import ToolError
from tools.context import ToolContext
from tools.django_celery.backend_text import backend_kind, project_backend_description
from tools.django_celery.codemods.app_analysis import celery_module_path
from tools.django_celery.codemods.celery_module import ensure_celery_module
from tools.django_celery.codemods.code_style import configured_line_length, project_line_length
from tools.django_celery.codemods.dependencies import ensure_dependencies
from tools.django_celery.codemods.docs import DocFacts, ensure_celery_doc
from tools.django_celery.codemods.eager_mode import report_eager, turn_eager_off
from tools.django_celery.codemods.env_example import env_example_entries
from tools.django_celery.codemods.env_files import ensure_env_example, ensure_gitignore
from tools.django_celery.codemods.env_urls import read_urls_from_environment, report_literal_urls
from tools.django_celery.codemods.init_module import ensure_init_loads_app
from tools.django_celery.codemods.installed_apps import celery_apps, ensure_installed_apps
from tools.django_celery.codemods.results_cache import create_cache_table, ensure_results_cache
from tools.django_celery.codemods.settings_block import (
    backend_settings,
    core_settings,
    ensure_settings_block,
    kept_backend,
    rename_old_style_settings,
    report_old_style_settings,
    shadowing_old_names,
)
from tools.django_celery.codemods.settings_chain import celery_file_chain, project_chain
from tools.django_celery.codemods.url_passwords import report_url_passwords, strip_url_passwords
from tools.django_celery.codemods.workspace import ProjectEdits, render_summary
from tools.django_celery.dependencies_install import configured_broker, ensure_installed, needed_requirements
from tools.django_celery.facts import Decisions, ProjectFacts, ResultBackend
from tools.django_celery.migrations import apply_migrations
from tools.django_celery.setup_quality import quality_steps

USAGE = (
    "/celery:setup [--apps a,b] [--beat | --no-beat] [--backend django-db|redis|django-cache|none] "
    "[--broker URL] [--queues queue:app,...|none] [--rename-settings | --no-rename-settings] "
    "[--rewrite-dispatch | --no-rewrite-dispatch] [--install-deps | --no-install-deps] "
    "[--fix-url-passwords | --no-fix-url-passwords] [--fix-eager | --no-fix-eager] [--env-urls | --no-env-urls]"
)
CONSENTS = (
    "rename_settings",
    "rewrite_dispatch",
    "install_deps",
    "fix_url_passwords",
    "fix_eager",
    "env_urls",
)
BACKENDS: tuple[str, ...] = get_args(ResultBackend)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ToolError(f"{message}. Usage: {USAGE}")


def _parser() -> _Parser:
    parser = _Parser(prog="/celery:setup", add_help=False)
    parser.add_argument("--apps")
    beat = parser.add_mutually_exclusive_group()
    beat.add_argument("--beat", dest="beat", action="store_true", default=None)
    beat.add_argument("--no-beat", dest="beat", action="store_false")
    parser.add_argument("--backend", choices=BACKENDS)
    parser.add_argument("--broker")
    parser.add_argument("--queues")
    for consent in CONSENTS:
        flag = consent.replace("_", "-")
        group = parser.add_mutually_exclusive_group()
        group.add_argument(f"--{flag}", dest=consent, action="store_true", default=None)
        group.add_argument(f"--no-{flag}", dest=consent, action="store_false")
    return parser


def require_facts(ctx: ToolContext) -> ProjectFacts:
    if ctx.facts is None:
        raise ToolError("No project facts yet: run discovery first (it finds manage.py, settings and apps).")
    return ctx.facts


def parse_setup_arguments(arguments: str) -> argparse.Namespace:
    """The arguments of `/celery:setup`; ToolError with the usage when they do not parse."""
    try:
        return _parser().parse_args(shlex.split(arguments))
    except ValueError as exc:
        raise ToolError(f"cannot split the arguments {arguments!r}: {exc}. Usage: {USAGE}") from exc


def setup_decisions(ctx: ToolContext, arguments: str) -> Decisions:
    """ctx.decisions (or defaults) with the explicit arguments applied on top, marked as flags."""
    facts = require_facts(ctx)
    args = parse_setup_arguments(arguments)
    decisions = (ctx.decisions or Decisions(task_apps=[a.label for a in facts.apps])).model_copy(deep=True)
    if args.apps is not None:
        labels = [label.strip() for label in args.apps.split(",") if label.strip()]
        decisions.override("task_apps", labels)
    unknown = [label for label in decisions.task_apps if facts.app(label) is None]
    if unknown:
        known = ", ".join(a.label for a in facts.apps) or "none"
        raise ToolError(
            f"unknown app(s) {', '.join(unknown)} chosen for tasks; the project's apps: {known}. "
            "Pass --apps with labels from that list."
        )
    if args.beat is not None:
        decisions.override("beat", args.beat)
    if args.backend is not None:
        decisions.override("result_backend", args.backend)
    if args.broker is not None:
        decisions.override("broker_url", args.broker)
    if args.queues is not None:
        specs = [s.strip() for s in args.queues.split(",") if s.strip() and s.strip().lower() != "none"]
        decisions.override("queues", specs)
    for consent in CONSENTS:
        if getattr(args, consent) is not None:
            decisions.override(consent, getattr(args, consent))
    return decisions


def effective_backend(edits: ProjectEdits, facts: ProjectFacts, decisions: Decisions) -> ResultBackend:
    """The backend the settings already select wins over the decision (switching is /celery:add-backend's job)."""
    chain = celery_file_chain(facts, edits.read)
    existing = chain.assignments("CELERY_RESULT_BACKEND")
    if not existing:
        return decisions.result_backend
    kind = backend_kind(existing[-1], chain)
    if kind is not None and kind != decisions.result_backend:
        edits.warn(
            f"{existing[-1].where}: the settings already select the {kind} result backend; kept it. "
            f"Run /celery:add-backend {decisions.result_backend} to switch."
        )
    return kind or decisions.result_backend


def run_migrations(ctx: ToolContext, labels: list[str], edits: ProjectEdits) -> list[str]:
    """Migrate the Celery apps; a failure is reported (the files are written either way)."""
    if not labels:
        return []
    try:
        return [apply_migrations(ctx, labels)]
    except ToolError as exc:
        edits.warn(f"migrations of {', '.join(labels)} were not applied: {exc}")
        return []


def plan_setup(
    root: Path, facts: ProjectFacts, decisions: Decisions
) -> tuple[ProjectEdits, ResultBackend, DocFacts]:
    """Every edit the setup makes, in memory (nothing written): the edits, the backend and the doc facts.

    Preflight runs this before the run writes anything, so a project the codemods cannot edit (INSTALLED_APPS
    built by code, an unrelated celery.py, a file that is not UTF-8) is refused up front as bad input.
    Mutates `decisions.result_backend` to the backend the settings already select.
    """
    edits = ProjectEdits(root)
    line_length = project_line_length(edits.read, [".", facts.base_dir])
    settings_line_length = configured_line_length(edits.read, [".", facts.base_dir])
    celery_module_existed = edits.exists(celery_module_path(facts))
    app_variable = ensure_celery_module(edits, facts)
    if ensure_init_loads_app(edits, facts, app_variable) and celery_module_existed:
        edits.warn(f"{celery_module_path(facts)} existed but the package __init__ did not load it; fixed.")
    if decisions.rename_settings:
        rename_old_style_settings(edits, facts)
    else:
        report_old_style_settings(edits, facts)
    if decisions.fix_url_passwords:
        strip_url_passwords(edits, facts)
    else:
        report_url_passwords(edits, facts)
    if decisions.fix_eager:
        turn_eager_off(edits, facts)
    else:
        report_eager(edits, facts)
    if decisions.env_urls:  # after the passwords: a URL that held one is read from the environment by now
        read_urls_from_environment(edits, facts)
    else:
        report_literal_urls(edits, facts)
    chain = celery_file_chain(facts, edits.read)
    kept = kept_backend(chain, decisions)
    if kept is not None:
        edits.warn(f"{kept.where}: CELERY_RESULT_BACKEND = {kept.code} is the project's own; kept as it is.")
    backend = "none" if kept is not None else effective_backend(edits, facts, decisions)
    settings = core_settings(facts, decisions, chain) + ([] if kept else backend_settings(backend, chain))
    settings = shadowing_old_names(settings, project_chain(facts, edits.read), edits)
    header = f"Celery, read by {celery_module_path(facts)}"
    ensure_settings_block(edits, facts, settings, header, settings_line_length)
    if backend == "django-cache":
        ensure_results_cache(edits, facts)
    ensure_installed_apps(edits, facts, celery_apps(backend, decisions.beat))
    decisions.result_backend = backend
    doc = quality_steps(edits, facts, decisions, line_length)
    doc.results = f"the backend your settings choose (`CELERY_RESULT_BACKEND = {kept.code}`)" if kept else ""
    ensure_dependencies(edits, facts, needed_requirements(decisions, backend, configured_broker(facts)))
    example = env_example_entries(project_chain(facts, edits.read), decisions, backend, facts.project_package)
    doc.env, doc.env_notes = example.values, example.notes
    ensure_env_example(edits, doc.env, "Celery (copy to .env)", doc.env_notes)
    ensure_gitignore(edits)
    if any(report.status != "already correct" for report in edits.reports()):
        ensure_celery_doc(edits, facts, decisions, doc)  # docs accompany a change, never arrive alone
    return edits, backend, doc


def run_setup(ctx: ToolContext, arguments: str) -> str:
    facts = require_facts(ctx)
    decisions = setup_decisions(ctx, arguments)
    edits, backend, doc = plan_setup(ctx.project_root, facts, decisions)
    if decisions.broker_url and urlsplit(decisions.broker_url).password:
        edits.warn(
            "The broker URL given contains a password: it was written nowhere. Put the real URL in .env "
            "(or the environment) as CELERY_BROKER_URL."
        )
    reports = edits.commit(ctx.journal)
    notes = ensure_installed(facts, decisions, backend, decisions.install_deps, ctx.journal.run_dir)
    notes += run_migrations(ctx, celery_apps(backend, decisions.beat), edits)
    if backend == "django-cache":
        notes += create_cache_table(ctx, edits)
    ctx.decisions = decisions
    headline = (
        f"/celery:setup: {project_backend_description(facts, backend)}, beat {'on' if decisions.beat else 'off'}, "
        f"tasks in {', '.join(decisions.task_apps) or 'no app'}."
    )
    notes.append(
        f"Next: install the dependencies, copy .env.example to .env, then from {facts.base_dir!r} run "
        f"`celery -A {facts.celery_target} worker --loglevel=INFO"
        + (f" -Q {','.join(doc.queues)}`" if doc.queues else "`")
        + (f" and one `celery -A {facts.celery_target} beat -S django`." if decisions.beat else ".")
    )
    return render_summary(headline, reports, edits.warnings, notes)
