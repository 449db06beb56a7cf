"""Make `<pkg>/__init__.py` import the Celery app, so it is loaded whenever Django starts.

Without it `@shared_task` in web processes binds to a default app with AMQP defaults (CELERY-FACTS.md).
Everything already in the file is kept; an existing `__all__` is extended rather than duplicated.
"""

from __future__ import annotations

from tools.django_celery.codemods.app_analysis import analyse_init, app_module_stem, init_module_path
from tools.django_celery.codemods.cst_tools import append_strings, imports_end, insert_statements
from tools.django_celery.codemods.workspace import ProjectEdits
from tools.django_celery.facts import ProjectFacts

IMPORT_COMMENT = "# Load the Celery app when Django starts, so @shared_task tasks bind to it.\n"


def ensure_init_loads_app(edits: ProjectEdits, facts: ProjectFacts, app_variable: str) -> bool:
    """Add the import (and `__all__`) when missing; True when the import had to be added."""
    rel = init_module_path(facts)
    original = edits.read(rel)
    alias = "" if app_variable == "celery_app" else " as celery_app"
    statement = f"from .{app_module_stem(facts)} import {app_variable}{alias}"
    if original is None or not original.strip():
        code = f'{IMPORT_COMMENT}{statement}\n\n__all__ = ("celery_app",)\n'
        edits.write(rel, code, f"{statement}, __all__")
        return True
    info = analyse_init(rel, original, facts.celery_app_module, app_variable)
    module = info.source.module
    added: list[str] = []
    import_added = info.exported is None
    if import_added:
        at = imports_end(module)
        code = f"{IMPORT_COMMENT}{statement}\n"
        module = insert_statements(module, at, code, blank_before=at > 0, blank_after=True)
        added.append(statement)
        info = analyse_init(rel, module.code, facts.celery_app_module, app_variable)
        module = info.source.module
    exported = info.exported or "celery_app"
    if info.all_statement is None:
        at = (info.import_index or 0) + 1
        module = insert_statements(
            module, at, f'__all__ = ("{exported}",)\n', blank_before=True, blank_after=True
        )
        added.append("__all__")
    elif not info.exports_app:
        if info.all_literal is not None:
            grown = append_strings(info.all_literal, [exported])
            module = module.deep_replace(info.all_literal, grown)  # type: ignore[assignment]
            added.append(f"{exported!r} added to __all__")
        else:
            edits.warn(
                f"{info.all_where}: __all__ is not a literal list or tuple; add {exported!r} to it by hand."
            )
    edits.write(rel, module.code, ", ".join(added) or None)
    return import_added
