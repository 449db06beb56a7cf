"""Create `<pkg>/celery.py`, or bring an existing one up to the canonical Django integration.

An existing module is kept: only what is missing is added (setdefault before `Celery()`,
`config_from_object(..., namespace="CELERY")`, `autodiscover_tasks()`), and two known traps are repaired
with a warning: the old `autodiscover_tasks(lambda: settings.INSTALLED_APPS)`, which finds nothing when
apps are listed as AppConfig paths, and a settings module that is an empty package `__init__`.
"""

from __future__ import annotations

import libcst as cst

from tools.base import ToolError
from tools.django_celery.codemods.app_analysis import (
    CeleryModuleInfo,
    analyse_celery_module,
    celery_module_path,
    settings_module_problem,
)
from tools.django_celery.codemods.cst_tools import ensure_import_os, string_literal
from tools.django_celery.codemods.templates_io import render
from tools.django_celery.codemods.workspace import ProjectEdits
from tools.django_celery.facts import ProjectFacts


def _index(body: list[cst.BaseStatement], node: cst.BaseStatement) -> int:
    return next(i for i, statement in enumerate(body) if statement is node)


def _statement(code: str) -> cst.BaseStatement:
    return cst.parse_statement(code)


def _insert_before_app(body: list[cst.BaseStatement], app: cst.BaseStatement, new: cst.BaseStatement) -> None:
    """Put `new` right above `app = Celery(...)`, taking over the blank lines/comments above it."""
    at = _index(body, app)
    body[at] = app.with_changes(leading_lines=[cst.EmptyLine()])
    body.insert(at, new.with_changes(leading_lines=app.leading_lines))


def _insert_after(
    body: list[cst.BaseStatement], anchor: cst.BaseStatement, new: cst.BaseStatement
) -> cst.BaseStatement:
    """Put `new` below `anchor` after a blank line; returns the node as inserted."""
    inserted = new.with_changes(leading_lines=[cst.EmptyLine()])
    body.insert(_index(body, anchor) + 1, inserted)
    return inserted


def _drop_unused_settings_import(module: cst.Module) -> cst.Module:
    """Remove `from django.conf import settings` once the old autodiscover lambda no longer uses it."""

    class Uses(cst.CSTVisitor):
        def __init__(self) -> None:
            self.count = 0

        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            return False

        def visit_Name(self, node: cst.Name) -> None:
            self.count += node.value == "settings"

    uses = Uses()
    module.visit(uses)
    if uses.count:
        return module
    body = list(module.body)
    for i, statement in enumerate(body):
        small = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) else None
        if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
            continue
        if small.module is None or module.code_for_node(small.module) != "django.conf":
            continue
        kept = [a for a in small.names if module.code_for_node(a.name) != "settings"]
        if len(kept) == len(small.names):
            continue
        if kept:
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            body[i] = statement.with_changes(body=[small.with_changes(names=kept)])
        else:
            del body[i]
            if i < len(body) and not body[i].leading_lines:
                body[i] = body[i].with_changes(leading_lines=statement.leading_lines)
        break
    return module.with_changes(body=body)


class _Repair:
    """Adds what an existing celery.py lacks, statement by statement, keeping everything else."""

    def __init__(self, info: CeleryModuleInfo, facts: ProjectFacts, edits: ProjectEdits) -> None:
        self.info, self.facts, self.edits = info, facts, edits
        self.app_var = info.app_variable or "app"
        self.body = list(info.source.module.body)
        self.app: cst.BaseStatement = info.app.statement  # type: ignore[union-attr]
        self.added: list[str] = []
        self.needs_os = False
        self.dropped_legacy_lambda = False

    def _replace(self, old: cst.BaseStatement, new: cst.CSTNode) -> cst.BaseStatement:
        self.body[_index(self.body, old)] = new  # type: ignore[assignment]
        return new  # type: ignore[return-value]

    def settings_default(self) -> None:
        info = self.info
        if info.setdefault is None:
            code = f'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{self.facts.settings_module}")\n'
            _insert_before_app(self.body, self.app, _statement(code))
            self.added.append("DJANGO_SETTINGS_MODULE default before Celery()")
            self.needs_os = True
            return
        setdefault = info.setdefault.statement
        problem = settings_module_problem(info.settings_module, self.facts, self.edits.read)
        if problem and isinstance(info.settings_module_node, cst.SimpleString):
            quote = getattr(info.settings_module_node, "quote", '"')
            literal = string_literal(self.facts.settings_module, quote)
            setdefault = self._replace(
                setdefault, setdefault.deep_replace(info.settings_module_node, literal)
            )
            self.added.append(f"DJANGO_SETTINGS_MODULE now defaults to {self.facts.settings_module}")
            self.edits.warn(
                f"{info.setdefault.where}: {problem}; it now points at {self.facts.settings_module!r}."
            )
        if not info.setdefault_first:
            self.body.pop(_index(self.body, setdefault))
            _insert_before_app(self.body, self.app, setdefault.with_changes(leading_lines=[]))
            self.added.append("DJANGO_SETTINGS_MODULE default moved above Celery()")
            self.edits.warn(
                f"{info.setdefault.where}: DJANGO_SETTINGS_MODULE was set after the Celery app was created, "
                "so the Django fix-up (delay_on_commit, connection handling) was not applied; moved it up."
            )

    def config(self) -> cst.BaseStatement:
        """Ensure config_from_object(..., namespace="CELERY"); returns the statement to put things after."""
        info = self.info
        if info.config is None or info.config.call is None:
            config = _statement(
                f'{self.app_var}.config_from_object("django.conf:settings", namespace="CELERY")\n'
            )
            self.added.append('config_from_object("django.conf:settings", namespace="CELERY")')
            return _insert_after(self.body, self.app, config)
        if info.namespace is None:
            call = info.config.call
            quote = getattr(call.args[0].value, "quote", '"') if call.args else '"'
            namespace = cst.Arg(
                string_literal("CELERY", quote),
                keyword=cst.Name("namespace"),
                equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
            )
            last = call.args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            fixed = info.config.statement.deep_replace(
                call, call.with_changes(args=[*call.args[:-1], last, namespace])
            )
            self.added.append('namespace="CELERY" for config_from_object')
            self.edits.warn(
                f"{info.config.where}: config_from_object had no namespace, so Celery read settings without "
                "the CELERY_ prefix; it now reads CELERY_* settings (old-style names are renamed)."
            )
            return self._replace(info.config.statement, fixed)
        if info.namespace != "CELERY":
            self.edits.warn(
                f"{info.config.where}: config_from_object uses namespace={info.namespace!r}, but the settings "
                "this command adds use the CELERY_ prefix. Kept as is: align one side by hand."
            )
        return info.config.statement

    def autodiscover(self, anchor: cst.BaseStatement) -> None:
        info = self.info
        if info.autodiscover is None or info.autodiscover.call is None:
            _insert_after(self.body, anchor, _statement(f"{self.app_var}.autodiscover_tasks()\n"))
            self.added.append("autodiscover_tasks()")
            return
        args = info.autodiscover_args
        if info.legacy_autodiscover:
            call = info.autodiscover.call
            self._replace(
                info.autodiscover.statement,
                info.autodiscover.statement.deep_replace(call, call.with_changes(args=[])),
            )
            self.added.append(f"autodiscover_tasks({args}) replaced by autodiscover_tasks()")
            self.dropped_legacy_lambda = True
            self.edits.warn(
                f"{info.autodiscover.where}: autodiscover_tasks({args}) finds no tasks for apps listed as "
                "AppConfig paths; replaced by autodiscover_tasks(), which asks Django's app registry."
            )

    def run(self) -> cst.Module:
        self.settings_default()
        self.autodiscover(self.config())
        module = self.info.source.module.with_changes(body=self.body)
        if self.needs_os:
            module = ensure_import_os(module)
        return _drop_unused_settings_import(module) if self.dropped_legacy_lambda else module


def ensure_celery_module(edits: ProjectEdits, facts: ProjectFacts) -> str:
    """Create or repair `<pkg>/celery.py`; returns the name the Celery app is bound to there."""
    rel = celery_module_path(facts)
    text = edits.read(rel)
    if text is None:
        code = render("celery.py.tmpl", package=facts.project_package, settings_module=facts.settings_module)
        edits.write(rel, code, "Celery app configured from CELERY_* settings, autodiscover_tasks()")
        return "app"
    info = analyse_celery_module(rel, text)
    if info.app is None:
        raise ToolError(
            f"{rel} exists but creates no Celery app (no `app = Celery(...)` at module level). Rename that "
            "module or add the app to it, then run /celery:setup again."
        )
    repair = _Repair(info, facts, edits)
    module = repair.run()
    if repair.added:
        edits.warn(f"{rel} existed but was incomplete (a half-done setup); only what was missing was added.")
    edits.write(rel, module.code, ", ".join(repair.added) or None)
    return repair.app_var
