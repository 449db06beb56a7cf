"""Static scans of the project's own code: its files, an existing Celery app, tasks, and task dispatch sites.

All of this reads source with `ast` (fast, exact line numbers) and never imports anything, so discovery
stays one probe subprocess plus reading files. Virtualenvs, node_modules and VCS/tool caches inside the
project are skipped: they are not the user's code.
"""

from __future__ import annotations

import ast
import configparser
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path

from tools.django_celery.facts import DispatchContext, DispatchSite
from tools.sandbox import PathEscapeError, relative_to_project, resolve_in_project

SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "site-packages", "dist-packages", "build", "dist"})
_DISPATCH_METHODS = ("delay", "apply_async")


def is_skipped_dir(folder: Path) -> bool:
    """Folders that hold no project code: hidden ones (.git, .venv, .tox), venvs, caches, packaging output."""
    return folder.name.startswith(".") or folder.name in SKIPPED_DIRS or (folder / "pyvenv.cfg").is_file()


def walk_files(root: Path, name_filter: str = ".py", max_depth: int | None = None) -> Iterator[Path]:
    """Project files whose name ends with `name_filter`, skipping non-project folders and escaping symlinks."""
    root = root.resolve()
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        depth = len(here.relative_to(root).parts)
        dirs[:] = sorted(
            d for d in dirs if not is_skipped_dir(here / d) and (max_depth is None or depth < max_depth)
        )
        for name in sorted(files):
            if not name.endswith(name_filter):
                continue
            path = here / name
            if not path.is_symlink():  # os.walk does not follow folder links: the path is already resolved
                yield path
                continue
            try:
                yield resolve_in_project(root, path)
            except PathEscapeError:
                continue


def parse_python(path: Path) -> ast.Module | None:
    """The module's AST, or None when it is not valid UTF-8 Python (such files are simply not scanned)."""
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return None


def find_celery_app(base_dir: Path, package_dir: Path) -> tuple[Path, str | None] | None:
    """The module that creates the project's Celery app, and the variable it is bound to.

    `<pkg>/celery.py` is the documented place and wins when it exists; then any module of the settings
    package that assigns `X = Celery(...)` (cookiecutter-django's `config/celery_app.py`); then any module of
    the project's code that does (an app's `tasks/celery.py`), preferring one that reads Django's settings
    and is loaded by its package's `__init__`, then the shallowest.
    """
    conventional = package_dir / "celery.py"
    if conventional.is_file():
        tree = parse_python(conventional)
        return conventional, _celery_app_variable(tree) if tree is not None else None
    in_package = [(p, v) for p in sorted(package_dir.glob("*.py")) if (v := _app_variable_of(p))]
    if in_package:
        return in_package[0]
    elsewhere = [
        (p, v)
        for p in walk_files(base_dir)
        if p.parent != package_dir and "migrations" not in p.parts and (v := _app_variable_of(p))
    ]

    def rank(found: tuple[Path, str]) -> tuple[bool, bool, int, str]:
        path, _ = found
        reads_django = "django.conf:settings" in path.read_text(encoding="utf-8", errors="replace")
        loaded = init_loads_app(path.parent, None, path)
        return (not reads_django, not loaded, len(path.relative_to(base_dir).parts), str(path))

    return min(elsewhere, key=rank) if elsewhere else None


def _app_variable_of(module: Path) -> str | None:
    """The name `X = Celery(...)` binds at module level, read only from files that mention Celery."""
    try:
        text = module.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if "Celery(" not in text:
        return None
    tree = parse_python(module)
    return _celery_app_variable(tree) if tree is not None else None


def dotted_module(base_dir: Path, module: Path) -> str:
    """`config/celery_app.py` under `base_dir` -> "config.celery_app" (how the worker imports it)."""
    return ".".join(module.relative_to(base_dir).with_suffix("").parts)


def _celery_app_variable(tree: ast.Module) -> str | None:
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and _called_name(node.value) == "Celery"
        ):
            target = node.targets[0]
            if isinstance(target, ast.Name):
                return target.id
    return None


def init_loads_app(package_dir: Path, package: str | None, app_module: Path) -> bool:
    """True when `<package_dir>/__init__.py` imports the app module (`from .celery import app as celery_app`,
    or by its absolute name `<package>.<stem>` when `package` is known)."""
    tree = parse_python(package_dir / "__init__.py") if (package_dir / "__init__.py").is_file() else None
    if tree is None:
        return False
    stem = app_module.stem
    absolute = f"{package}.{stem}" if package else None
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (
            (node.level == 1 and node.module == stem) or (node.level == 0 and node.module == absolute)
        ):
            return True
        if isinstance(node, ast.Import) and any(a.name == absolute for a in node.names):
            return True
    return False


def task_names(app_dir: Path) -> tuple[bool, list[str]]:
    """Whether the app has a tasks module (tasks.py or a tasks/ package) and the task functions in it."""
    package = app_dir / "tasks"
    files = [app_dir / "tasks.py"] if (app_dir / "tasks.py").is_file() else []
    if (package / "__init__.py").is_file():
        files += sorted(package.glob("*.py"))
    names: list[str] = []
    for file in files:
        tree = parse_python(file)
        for node in tree.body if tree is not None else []:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
                _is_task_decorator(d) for d in node.decorator_list
            ):
                names.append(node.name)
    return bool(files), names


def _is_task_decorator(decorator: ast.expr) -> bool:
    """`@shared_task`, `@app.task`, `@<anything>.task`, called or not."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(target, ast.Name):
        return target.id == "shared_task"
    return isinstance(target, ast.Attribute) and target.attr in ("task", "shared_task")


def dispatch_sites(root: Path) -> list[DispatchSite]:
    """Every `.delay` / `.apply_async` use in the project's code, with the transaction context around it."""
    sites: list[DispatchSite] = []
    for file in walk_files(root):
        tree = parse_python(file)
        if tree is not None:
            sites.extend(dispatch_sites_in(relative_to_project(root, file), tree))
    return sites


def dispatch_sites_in(rel_path: str, tree: ast.Module) -> list[DispatchSite]:
    """The dispatch sites of one parsed module (codemods pass the text they are about to change)."""
    finder = _DispatchFinder(rel_path, _connected_receivers(tree))
    finder.visit(tree)
    return finder.sites


def _connected_receivers(tree: ast.Module) -> set[str]:
    """Functions connected with `<signal>.connect(func)` / `.connect(receiver=func)` in this module."""
    names = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "connect"
        ):
            candidates = node.args[:1] + [k.value for k in node.keywords if k.arg == "receiver"]
            names.update(c.id for c in candidates if isinstance(c, ast.Name))
    return names


class _DispatchFinder(ast.NodeVisitor):
    """Walks a module keeping the contexts that enclose each node (a function body starts afresh)."""

    def __init__(self, rel_path: str, receivers: set[str]) -> None:
        self.rel_path = rel_path
        self.receivers = receivers
        self.contexts: tuple[DispatchContext, ...] = ()
        self.in_class = False
        self.sites: list[DispatchSite] = []

    def _within(self, contexts: tuple[DispatchContext, ...], nodes: list[ast.AST], in_class: bool) -> None:
        saved = self.contexts, self.in_class
        self.contexts, self.in_class = contexts, in_class
        for node in nodes:
            self.visit(node)
        self.contexts, self.in_class = saved

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._within(self.contexts, node.body, in_class=True)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        own: list[DispatchContext] = []
        if any(_called_name(d) == "atomic" for d in node.decorator_list):
            own.append("atomic")
        if node.name == "save" and self.in_class:
            own.append("save")
        if node.name in self.receivers or any(_called_name(d) == "receiver" for d in node.decorator_list):
            own.append("receiver")
        self._within(tuple(own), node.body, in_class=False)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
        atomic = any(_called_name(item.context_expr) == "atomic" for item in node.items)
        contexts = (*self.contexts, "atomic") if atomic and "atomic" not in self.contexts else self.contexts
        self._within(contexts, node.body, self.in_class)

    visit_AsyncWith = visit_With

    def visit_Attribute(self, node: ast.Attribute) -> None:
        """`x.delay(...)` and `partial(x.delay, pk)` alike: both send the task from here."""
        if node.attr in _DISPATCH_METHODS:
            self.sites.append(
                DispatchSite(
                    location=f"{self.rel_path}:{node.lineno}",
                    call=ast.unparse(node),
                    contexts=list(self.contexts),
                )
            )
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if _called_name(node) == "on_commit" and "on_commit" not in self.contexts:
            self.visit(node.func)
            self._within((*self.contexts, "on_commit"), [*node.args, *node.keywords], self.in_class)
            return
        self.generic_visit(node)


def _called_name(node: ast.expr) -> str | None:
    """The last name of what is called or used: `transaction.atomic()` and `atomic` both give "atomic"."""
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    return None


def dependency_styles(root: Path, base_dir: Path) -> dict[str, str]:
    """Dependency files at the root and beside manage.py -> how they declare dependencies."""
    styles: dict[str, str] = {}
    for folder in dict.fromkeys([root, base_dir]):
        candidates = [
            *sorted(folder.glob("requirements*.txt")),
            *sorted(folder.glob("requirements/*.txt")),
            folder / "pyproject.toml",
            folder / "Pipfile",
            folder / "setup.cfg",
        ]
        for file in candidates:
            if file.is_file():
                styles[relative_to_project(root, file)] = _style_of(file)
    return styles


def _style_of(file: Path) -> str:
    if file.name == "Pipfile":
        return "pipenv"
    if file.name == "setup.cfg":
        parser = configparser.ConfigParser()
        try:
            parser.read_string(file.read_text(encoding="utf-8"))
        except (configparser.Error, UnicodeDecodeError):
            return "unparsable"
        return "setuptools" if parser.has_option("options", "install_requires") else "tool-config-only"
    if file.name != "pyproject.toml":
        return "requirements"
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return "unparsable"
    if "poetry" in data.get("tool", {}):
        return "poetry"
    if "project" in data:
        return "uv" if (file.parent / "uv.lock").is_file() else "pep621"
    return "tool-config-only"
