"""Rewrite `.delay()` / `.apply_async()` calls that run inside a transaction so the task leaves after COMMIT.

A task sent inside `transaction.atomic()` (or a model's `save()`, or a signal receiver, which run in the
caller's transaction) can reach a worker before the row is committed, or after a rollback. With the
user's consent each such call that stands as a statement becomes:

- `task.delay_on_commit(args)` / `task.apply_async_on_commit(...)` when the task is one of the project's
  `@shared_task` / `@app.task` functions (no custom `base=`) and the project's tasks really have those
  methods: Celery 5.4+ and a Celery app created after DJANGO_SETTINGS_MODULE is set, without `task_cls`
  (the Django fix-up then makes `DjangoTask` the task class);
- otherwise `transaction.on_commit(partial(task.delay, args))`, with the `using=` of the enclosing
  `atomic(using=...)` when it names a database, and `partial` / `transaction` imported once.

A call whose return value is used (`result = task.delay(...)`) is left alone and reported: the deferred
forms return None. Everything else in the file stays byte-identical (libcst).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, ParentNodeProvider, PositionProvider

from tools.django_celery.codemods.app_analysis import read_celery_module
from tools.django_celery.codemods.code_style import DEFAULT_LINE_LENGTH
from tools.django_celery.codemods.cst_tools import call_name, dotted_name, keyword, positional
from tools.django_celery.codemods.imports import ensure_from_import
from tools.django_celery.codemods.source import Reader, module_name_of
from tools.django_celery.codemods.tasks_module import tasks_path
from tools.django_celery.codemods.workspace import ProjectEdits
from tools.django_celery.facts import DispatchSite, ProjectFacts
from tools.django_celery.project_scan import dispatch_sites_in

UNSAFE = ("atomic", "save", "receiver")
DEFERRED = {"delay": "delay_on_commit", "apply_async": "apply_async_on_commit"}
TASK_DECORATORS = re.compile(r"^(?:shared_task|celery\.shared_task|\w+\.task|task)$")
HELPER_IMPORTS = {"partial": "functools", "transaction": "django.db"}


@dataclass
class SiteOutcome:
    location: str  # "path:line"
    call: str  # e.g. "send_welcome_email.delay"
    context: str  # atomic | save | receiver
    rewritten: bool
    detail: str  # the new code, or why the site was left as it was

    def line(self) -> str:
        verb = "->" if self.rewritten else "left as is:"
        return f"{self.location}: {self.call}(...) inside {self.context} {verb} {self.detail}"


def unsafe_sites(rel: str, text: str) -> list[DispatchSite]:
    """Dispatch sites of one module that run inside a transaction and are not deferred yet."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    return [
        s
        for s in dispatch_sites_in(rel, tree)
        if set(UNSAFE) & set(s.contexts) and "on_commit" not in s.contexts
    ]


def on_commit_methods(facts: ProjectFacts, reader: Reader) -> tuple[bool, str]:
    """Whether the project's tasks have delay_on_commit(), and why (or why not)."""
    version = tuple(int(p) for p in re.findall(r"\d+", facts.packages.celery or "")[:2])
    if version < (5, 4):
        return False, f"Celery {facts.packages.celery or 'is not installed'}: delay_on_commit needs 5.4+"
    info = read_celery_module(facts, reader)
    if info is None or info.app is None or not info.setdefault_first:
        return False, "the Celery app is not created after DJANGO_SETTINGS_MODULE is set"
    if info.app.call is not None and keyword(info.app.call, "task_cls") is not None:
        return False, f"{info.app.where}: the app has its own task_cls"
    return (
        True,
        f"Celery {facts.packages.celery}, app created after DJANGO_SETTINGS_MODULE ({info.app.where})",
    )


def project_tasks(facts: ProjectFacts, reader: Reader) -> dict[str, bool]:
    """Dotted name of each task function in the apps' tasks.py -> True when it uses the default task class."""
    found: dict[str, bool] = {}
    for app in facts.apps:
        text = reader(tasks_path(app))
        try:
            tree = ast.parse(text or "")
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                for decorator in node.decorator_list:
                    target = decorator.func if isinstance(decorator, ast.Call) else decorator
                    if TASK_DECORATORS.match(ast.unparse(target)):
                        custom = isinstance(decorator, ast.Call) and any(
                            k.arg == "base" for k in decorator.keywords
                        )
                        found[f"{app.module}.tasks.{node.name}"] = not custom
    return found


def _bindings(tree: ast.Module, own_module: str, is_package: bool) -> tuple[dict[str, str], set[str]]:
    """Module-level names -> the dotted thing they refer to, and every name bound anywhere in the module."""
    package = own_module.split(".") if is_package else own_module.split(".")[:-1]
    names: dict[str, str] = {}
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            source = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                local = alias.asname or alias.name
                if HELPER_IMPORTS.get(local) == source and alias.name == local:
                    continue  # `from functools import partial` / `from django.db import transaction`
                names[local] = f"{source}.{alias.name}"
                bound.add(local)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                names[local] = alias.name if alias.asname else local
                bound.add(local)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
            if node in tree.body:
                names[node.name] = f"{own_module}.{node.name}"
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return names, bound


class _Resolver:
    """Does a dispatched name refer to a project task with the default (DjangoTask) class?"""

    def __init__(
        self, names: dict[str, str], tasks: dict[str, bool], supported: bool, bound: set[str]
    ) -> None:
        self.names, self.tasks, self.supported = names, tasks, supported
        self.helpers_taken = sorted(name for name in HELPER_IMPORTS if name in bound)

    def __call__(self, dotted: str) -> bool:
        head, _, rest = dotted.partition(".")
        target = self.names.get(head)
        full = f"{target}.{rest}" if target and rest else target
        return self.supported and self.tasks.get(full or "", False)


class _Plan(cst.CSTVisitor):
    """Find the calls to rewrite (by the line discovery reported) and what to replace each with."""

    METADATA_DEPENDENCIES = (PositionProvider, ParentNodeProvider)

    def __init__(
        self, sites: dict[tuple[int, str], DispatchSite], resolver: _Resolver, lines: list[str], limit: int
    ) -> None:
        self.sites, self.resolver, self.lines, self.limit = sites, resolver, lines, limit
        self.replacements: dict[cst.Call, cst.BaseExpression] = {}
        self.outcomes: list[SiteOutcome] = []
        self.imports: set[str] = set()  # helper names the replacements use

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in DEFERRED:
            return
        line = self.get_metadata(PositionProvider, func).start.line
        site = self.sites.get((line, func.attr.value))
        if site is None:
            return
        context = next(c for c in site.contexts if c in UNSAFE)
        outcome = SiteOutcome(site.location, site.call, context, False, "")
        self.outcomes.append(outcome)
        if not isinstance(self.get_metadata(ParentNodeProvider, node), cst.Expr):
            outcome.detail = "its return value is used, and the deferred forms return None; defer it by hand"
            return
        using = self._atomic_using(node)
        task = dotted_name(func.value) or ""
        if using is None and self.resolver(task):
            self.replacements[node] = node.with_changes(
                func=func.with_changes(attr=cst.Name(DEFERRED[func.attr.value]))
            )
            outcome.rewritten, outcome.detail = True, f"{task}.{DEFERRED[func.attr.value]}(...)"
            return
        needed = {"transaction", "partial"} if node.args else {"transaction"}
        taken = sorted(needed & set(self.resolver.helpers_taken))
        if taken:
            outcome.detail = f"`{'`/`'.join(taken)}` means something else in this module"
            return
        deferred: cst.BaseExpression = func
        if node.args:
            first = cst.Arg(func, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            deferred = cst.Call(cst.Name("partial"), args=[first, *node.args])
        args = [cst.Arg(deferred)]
        if using is not None:
            args[0] = args[0].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            args.append(
                cst.Arg(
                    using,
                    keyword=cst.Name("using"),
                    equal=cst.AssignEqual(
                        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
                    ),
                )
            )
        replacement = cst.Call(cst.parse_expression("transaction.on_commit"), args=args)
        indent = len(self.lines[line - 1]) - len(self.lines[line - 1].lstrip())
        if indent + len(cst.Module(body=[]).code_for_node(replacement)) > self.limit:
            replacement = _wrapped(replacement)
        self.replacements[node] = replacement
        self.imports |= needed
        shown = f"partial({task}.{func.attr.value}, ...)" if node.args else f"{task}.{func.attr.value}"
        outcome.rewritten = True
        outcome.detail = f"transaction.on_commit({shown}{', using=...' if using is not None else ''})"

    def _atomic_using(self, node: cst.CSTNode) -> cst.BaseExpression | None:
        """The database the innermost enclosing atomic() names, None for the default one."""
        current: cst.CSTNode | None = node
        while current is not None:
            calls: list[cst.BaseExpression] = []
            if isinstance(current, cst.With):
                calls = [item.item for item in current.items]
            elif isinstance(current, cst.FunctionDef):
                calls = [d.decorator for d in current.decorators]
            for call in calls:
                if isinstance(call, cst.Call) and (call_name(call) or "").endswith("atomic"):
                    arg = keyword(call, "using") or positional(call, 0)
                    return (
                        None
                        if arg is None or (isinstance(arg.value, cst.Name) and arg.value.value == "None")
                        else arg.value
                    )
                if (dotted_name(call) or "").endswith("atomic"):
                    return None
            current = self.get_metadata(ParentNodeProvider, current, None)
        return None


def _wrapped(call: cst.Call) -> cst.Call:
    """`f(a, b)` laid out as `ruff format` does when it is too long: arguments on their own line."""
    inner = cst.ParenthesizedWhitespace(
        first_line=cst.TrailingWhitespace(), indent=True, last_line=cst.SimpleWhitespace("    ")
    )
    closing = cst.ParenthesizedWhitespace(first_line=cst.TrailingWhitespace(), indent=True)
    args = list(call.args)
    args[-1] = args[-1].with_changes(whitespace_after_arg=closing)
    return call.with_changes(whitespace_before_args=inner, args=args)


class _Apply(cst.CSTTransformer):
    def __init__(self, replacements: dict[cst.Call, cst.BaseExpression]) -> None:
        self.replacements = replacements

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        return self.replacements.get(original, updated)


def rewrite_module(
    rel: str,
    text: str,
    facts: ProjectFacts,
    tasks: dict[str, bool],
    supported: bool,
    line_length: int = DEFAULT_LINE_LENGTH,
) -> tuple[str, list[SiteOutcome]]:
    """The module with its unsafe dispatch sites deferred, and what happened at each site."""
    sites = {
        (int(s.location.rsplit(":", 1)[1]), s.call.rsplit(".", 1)[1]): s for s in unsafe_sites(rel, text)
    }
    if not sites:
        return text, []
    tree = ast.parse(text)
    names, bound = _bindings(tree, module_name_of(facts.base_dir, rel), rel.endswith("__init__.py"))
    wrapper = MetadataWrapper(cst.parse_module(text))
    plan = _Plan(sites, _Resolver(names, tasks, supported, bound), text.splitlines(), line_length)
    wrapper.visit(plan)
    module = wrapper.module.visit(_Apply(plan.replacements))
    first_party = {a.module.split(".")[0] for a in facts.apps} | {facts.project_package.split(".")[0]}
    for name in sorted(plan.imports):  # partial, then transaction
        module = ensure_from_import(module, HELPER_IMPORTS[name], name, first_party)
    return module.code, plan.outcomes


def rewrite_unsafe_dispatch(
    edits: ProjectEdits, facts: ProjectFacts, consent: bool, line_length: int = DEFAULT_LINE_LENGTH
) -> list[SiteOutcome]:
    """Rewrite (with consent) or only list the unsafe dispatch sites of the files discovery found them in."""
    files = sorted({d.location.rsplit(":", 1)[0] for d in facts.existing.dispatch_details})
    supported, why = on_commit_methods(facts, edits.read)
    tasks = project_tasks(facts, edits.read)
    outcomes: list[SiteOutcome] = []
    for rel in files:
        text = edits.read(rel)
        if text is None:
            continue
        if not consent:
            outcomes += [
                SiteOutcome(
                    s.location, s.call, next(c for c in s.contexts if c in UNSAFE), False, "no consent"
                )
                for s in unsafe_sites(rel, text)
            ]
            continue
        new_text, found = rewrite_module(rel, text, facts, tasks, supported, line_length)
        outcomes += found
        done = [o for o in found if o.rewritten]
        if done:
            edits.write(
                rel,
                new_text,
                "sent after COMMIT: "
                + ", ".join(f"{o.call} (line {o.location.rsplit(':', 1)[1]})" for o in done),
            )
    if consent and not supported and any(o.rewritten for o in outcomes):
        edits.warn(f"Deferred with transaction.on_commit(partial(...)), not delay_on_commit(): {why}.")
    return outcomes
