"""The cache `django-cache` results are stored in: one that worker and web processes share.

Celery's `django-cache` result backend writes results through Django's cache framework, into the CACHES
entry CELERY_CACHE_BACKEND names. Django's default LocMemCache lives inside one process, so the caller
would never see a result the worker stored (measured: TimeoutError). So: when the project's default
cache is shared (Redis, Memcached, database, file), results use it; otherwise a dedicated database cache
`celery_results` is added to CACHES (the project's default cache is left exactly as it is) and its table
is created with `manage.py createcachetable`. Live verification refuses a per-process cache outright.
"""

from __future__ import annotations

from tools.base import ToolError
from tools.context import ToolContext
from tools.django_celery.codemods.cst_tools import insert_statements
from tools.django_celery.codemods.settings_chain import SettingsChain, project_chain
from tools.django_celery.codemods.source import PythonFile
from tools.django_celery.codemods.workspace import ProjectEdits
from tools.django_celery.facts import ProjectFacts
from tools.django_celery.migrations import _project_sqlite_file
from tools.django_celery.project_env import run_manage

RESULTS_ALIAS = "celery_results"
RESULTS_TABLE = "celery_results_cache"
PER_PROCESS = ("locmem", "dummy")
DEFAULT_CACHE = '"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}'
RESULTS_CACHE = (  # formatted as `ruff format` would
    '{\n        "BACKEND": "django.core.cache.backends.db.DatabaseCache",\n'
    f'        "LOCATION": "{RESULTS_TABLE}",\n    }}'
)


def default_is_shared(chain: SettingsChain) -> bool:
    """The project's default cache is one that every process sees (not LocMem, not the dummy cache)."""
    caches = chain.assignments("CACHES")
    if not caches:
        return False  # Django's default is LocMemCache
    code = caches[-1].code.lower()
    return '"default"' in code.replace("'", '"') and not any(kind in code for kind in PER_PROCESS)


def has_results_cache(chain: SettingsChain) -> bool:
    return any(RESULTS_TABLE in f.source.text for f in chain.files)


def results_cache_alias(chain: SettingsChain) -> str:
    """The CACHES alias CELERY_CACHE_BACKEND names: "default" when it is shared, else our own entry."""
    return "default" if default_is_shared(chain) and not has_results_cache(chain) else RESULTS_ALIAS


def ensure_results_cache(edits: ProjectEdits, facts: ProjectFacts) -> str:
    """Add the `celery_results` database cache to CACHES unless results can use a shared default; its alias."""
    chain = project_chain(facts, edits.read)
    alias = results_cache_alias(chain)
    if alias == "default" or has_results_cache(chain):
        return alias
    caches = chain.assignments("CACHES")
    if not caches:
        rel = facts.celery_settings_file
        code = (
            "# Caches: Django's default per-process cache, plus a database cache that Celery's worker and\n"
            "# the web processes share for task results (CELERY_CACHE_BACKEND).\n"
            f'CACHES = {{\n    {DEFAULT_CACHE},\n    "{RESULTS_ALIAS}": {RESULTS_CACHE},\n}}\n'
        )
        detail = f"added CACHES with a {RESULTS_ALIAS} database cache"
    else:
        rel = caches[-1].file.rel
        code = (
            "# Task results need a cache that the worker and the web processes share (CELERY_CACHE_BACKEND).\n"
            f'CACHES["{RESULTS_ALIAS}"] = {RESULTS_CACHE.replace(chr(10) + "    ", chr(10))}\n'
        )
        detail = f'added CACHES["{RESULTS_ALIAS}"] (a database cache)'
        edits.warn(
            f"{caches[-1].where}: the default cache is per-process, so django-cache results use a new "
            f"database cache {RESULTS_ALIAS!r} (table {RESULTS_TABLE}, made by `manage.py createcachetable`)."
        )
    module = PythonFile.parse(rel, edits.read(rel) or "").module
    module = insert_statements(module, len(module.body), code, blank_before=bool(module.body))
    edits.write(rel, module.code, detail)
    return RESULTS_ALIAS


def create_cache_table(ctx: ToolContext, edits: ProjectEdits) -> list[str]:
    """`manage.py createcachetable` (creates only missing tables); a SQLite file is backed up first.

    A failure is a warning of the summary (the files are written either way), like migrations.
    """
    if ctx.facts is None:
        raise ToolError("No project facts yet: run discovery first.")
    database = _project_sqlite_file(ctx.facts)
    if database is not None:
        ctx.journal.backup(database)
    done = run_manage(ctx.facts, "createcachetable", timeout=300)
    if done.returncode != 0:
        edits.warn(f"`manage.py createcachetable` failed:\n{(done.stdout + done.stderr)[-1500:]}")
        return []
    return ["Cache tables: `manage.py createcachetable` ran (it creates only the missing ones)."]
