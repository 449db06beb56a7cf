"""`/celery:add-backend django-db|redis|django-cache|none`: configure where task results are stored.

Writes the result-backend settings (switching an existing CELERY_RESULT_BACKEND when it selects another
backend), adds django_celery_results to INSTALLED_APPS and the dependencies when the backend needs it,
documents in .env.example the variable the backend setting really reads (CELERY_RESULT_BACKEND for the Redis
URL it writes, cookiecutter's REDIS_URL), and migrates django_celery_results. Idempotent like setup.
"""

from __future__ import annotations

import shlex

from tools.base import ToolError
from tools.context import ToolContext
from tools.django_celery.codemods.dependencies import (
    RESULTS_REQUIREMENT,
    celery_requirement,
    ensure_dependencies,
)
from tools.django_celery.codemods.env_example import env_example_entries
from tools.django_celery.codemods.env_files import ensure_env_example
from tools.django_celery.codemods.installed_apps import celery_apps, ensure_installed_apps
from tools.django_celery.codemods.results_cache import create_cache_table, ensure_results_cache
from tools.django_celery.codemods.settings_block import (
    backend_settings,
    ensure_settings_block,
    kept_backend,
    switch_result_backend,
)
from tools.django_celery.codemods.settings_chain import celery_file_chain, project_chain
from tools.django_celery.codemods.workspace import ProjectEdits, render_summary
from tools.django_celery.facts import Decisions, ResultBackend
from tools.django_celery.setup import BACKENDS, require_facts, run_migrations

USAGE = "/celery:add-backend django-db|redis|django-cache|none"


def parse_backend(arguments: str) -> ResultBackend:
    words = shlex.split(arguments)
    if len(words) != 1 or words[0] not in BACKENDS:
        raise ToolError(f"expected exactly one result backend, got {arguments!r}. Usage: {USAGE}")
    return words[0]  # type: ignore[return-value]


def run_add_backend(ctx: ToolContext, arguments: str) -> str:
    facts = require_facts(ctx)
    backend = parse_backend(arguments)
    edits = ProjectEdits(ctx.project_root)
    decisions = (ctx.decisions or Decisions(task_apps=[a.label for a in facts.apps])).model_copy(deep=True)
    kept = kept_backend(celery_file_chain(facts, edits.read), decisions)
    if kept is not None and backend == decisions.result_backend:  # the run's own default, not a request
        return render_summary(
            f"/celery:add-backend: kept the project's result backend ({kept.where}: {kept.code}).", [], [], []
        )
    switch_result_backend(edits, facts, backend)
    chain = celery_file_chain(facts, edits.read)
    ensure_settings_block(edits, facts, backend_settings(backend, chain), f"Celery result backend: {backend}")
    if backend == "django-cache":
        ensure_results_cache(edits, facts)
    apps = celery_apps(backend, beat=False)
    ensure_installed_apps(edits, facts, apps)
    if apps:
        ensure_dependencies(edits, facts, [RESULTS_REQUIREMENT])
    if backend == "redis":
        ensure_dependencies(edits, facts, [celery_requirement(redis=True)])
    # the variables the backend setting really reads (cookiecutter's REDIS_URL), as /celery:setup documents them
    chain = project_chain(facts, edits.read)
    example = env_example_entries(
        chain, decisions, backend, facts.project_package, ("CELERY_RESULT_BACKEND",)
    )
    if example.values or example.notes:  # "django-db" names a backend: nothing to document
        ensure_env_example(edits, example.values, "Celery result backend (copy to .env)", example.notes)
    reports = edits.commit(ctx.journal)
    notes = run_migrations(ctx, apps, edits)
    if backend == "django-cache":
        notes += create_cache_table(ctx, edits)
    decisions.override("result_backend", backend)
    ctx.decisions = decisions
    return render_summary(f"/celery:add-backend: result backend {backend}.", reports, edits.warnings, notes)
