"""What the project's settings files set, followed through their `from X import *` chain.

One analysis serves the settings codemods (which names are already set, which env reader the file uses,
where INSTALLED_APPS is defined) and the checks (where the broker URL comes from, which apps are listed).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import libcst as cst

from tools.django_celery.codemods.cst_tools import assigned_names, call_name, dotted_name, string_value
from tools.django_celery.codemods.source import PythonFile, Reader, module_file, module_name_of
from tools.django_celery.facts import ProjectFacts

EnvKind = Literal["django-environ", "decouple", "os"]
ENVIRON_FACTORIES = {"environ.Env", "Env", "environ.FileAwareEnv", "FileAwareEnv"}
DECOUPLE_FACTORIES = {"AutoConfig", "decouple.AutoConfig", "Config", "decouple.Config"}
OS_ENV_CALLS = {"os.environ.get", "os.getenv", "environ.get", "getenv", "os.environ.setdefault"}


@dataclass
class EnvReader:
    """How a settings file reads the environment, so added settings read it the same way."""

    kind: EnvKind
    callable: str  # "env", "config" or "os.environ.get"

    def call(self, name: str, default: str) -> str:
        return self.call_code(name, f'"{default}"')

    def call_code(self, name: str, default_code: str) -> str:
        """A read of `name` whose default is the expression `default_code` (kept as the user wrote it)."""
        if self.kind == "os":
            return f'os.environ.get("{name}", {default_code})'
        return f'{self.callable}("{name}", default={default_code})'


OS_READER = EnvReader("os", "os.environ.get")


@dataclass
class Assignment:
    name: str
    file: PythonFile
    statement: cst.BaseSmallStatement
    value: cst.BaseExpression | None
    augmented: bool

    @property
    def where(self) -> str:
        return self.file.where(self.statement)

    @property
    def code(self) -> str:
        return self.file.module.code_for_node(self.value) if self.value is not None else ""


@dataclass
class AppEntry:
    app: str  # the string as listed, e.g. "django_celery_results.apps.CeleryResultConfig"
    where: str


@dataclass
class SettingsFile:
    source: PythonFile
    assignments: list[Assignment] = field(default_factory=list)
    star_imports: list[str] = field(default_factory=list)  # dotted module names, resolved
    env_reader: EnvReader | None = None
    app_entries: list[AppEntry] = field(default_factory=list)
    # `from config.env import env`: (absolute module, imported name, bound name), to find a shared reader
    name_imports: list[tuple[str, str, str]] = field(default_factory=list)


def _top_level_small_statements(module: cst.Module) -> list[cst.BaseSmallStatement]:
    """Statements at module level, including those nested in top-level if/try/with/for blocks."""
    found: list[cst.BaseSmallStatement] = []

    def walk_suite(suite: cst.BaseSuite | None) -> None:
        if isinstance(suite, cst.SimpleStatementSuite):
            found.extend(suite.body)
        elif isinstance(suite, cst.IndentedBlock):
            walk(suite.body)

    def walk(statements: Sequence[cst.BaseStatement]) -> None:
        for statement in statements:
            if isinstance(statement, cst.SimpleStatementLine):
                found.extend(statement.body)
            elif isinstance(statement, cst.If):
                walk_suite(statement.body)
                if isinstance(statement.orelse, cst.If):
                    walk([statement.orelse])
                elif statement.orelse is not None:
                    walk_suite(statement.orelse.body)
            elif isinstance(statement, cst.Try | cst.With | cst.For | cst.While):
                walk_suite(statement.body)
                for handler in getattr(statement, "handlers", ()):
                    walk_suite(handler.body)
                for extra in (getattr(statement, "orelse", None), getattr(statement, "finalbody", None)):
                    if extra is not None:
                        walk_suite(extra.body)

    walk(module.body)
    return found


def _relative_package(source_module: str, is_package: bool, level: int) -> list[str]:
    parts = source_module.split(".") if source_module else []
    if not is_package:
        parts = parts[:-1]
    return parts[: len(parts) - (level - 1)] if level > 1 else parts


def _star_import_module(statement: cst.ImportFrom, rel: str, base_dir: str) -> str | None:
    if not isinstance(statement.names, cst.ImportStar):
        return None
    return imported_module(statement, rel, base_dir)


def imported_module(statement: cst.ImportFrom, rel: str, base_dir: str) -> str:
    """The absolute dotted module a `from ... import` statement of the file `rel` reads."""
    written = dotted_name(statement.module) if statement.module is not None else ""
    level = len(statement.relative)
    if level == 0:
        return written
    package = _relative_package(module_name_of(base_dir, rel), rel.endswith("__init__.py"), level)
    return ".".join([*package, *([written] if written else [])])


def _env_reader(statement: cst.BaseSmallStatement) -> EnvReader | None:
    if isinstance(statement, cst.Assign) and isinstance(statement.targets[0].target, cst.Name):
        target = statement.targets[0].target.value
        factory = call_name(statement.value)
        if factory in ENVIRON_FACTORIES:
            return EnvReader("django-environ", target)
        if factory in DECOUPLE_FACTORIES:
            return EnvReader("decouple", target)
    if (
        isinstance(statement, cst.ImportFrom)
        and not isinstance(statement.names, cst.ImportStar)
        and statement.module is not None
        and dotted_name(statement.module) == "decouple"
    ):
        for alias in statement.names:
            if dotted_name(alias.name) == "config":
                bound = alias.asname.name if alias.asname else alias.name
                return EnvReader("decouple", dotted_name(bound) or "config")  # type: ignore[arg-type]
    return None


def _strings_in(source: PythonFile, node: cst.CSTNode) -> list[AppEntry]:
    entries: list[AppEntry] = []

    class Collect(cst.CSTVisitor):
        def visit_SimpleString(self, string: cst.SimpleString) -> None:
            value = string_value(string)
            if value:
                entries.append(AppEntry(value, source.where(string)))

    node.visit(Collect())
    return entries


def _is_apps_name(name: str) -> bool:
    return name.endswith("APPS")


def analyse_settings_file(rel: str, text: str, base_dir: str) -> SettingsFile:
    """What one settings file binds and imports. A copy of the analysis kept per (path, text, base): a run
    loads the settings chain a dozen times, mostly on unchanged files; the copy is the caller's to
    complete (`env_reader`), the lists are never changed after the analysis."""
    return copy.copy(_analysed(rel, text, base_dir))


@lru_cache(maxsize=256)
def _analysed(rel: str, text: str, base_dir: str) -> SettingsFile:
    source = PythonFile.parse(rel, text)
    info = SettingsFile(source)
    for statement in _top_level_small_statements(source.module):
        reader = _env_reader(statement)
        if reader is not None and info.env_reader is None:
            info.env_reader = reader
        if isinstance(statement, cst.ImportFrom):
            star = _star_import_module(statement, rel, base_dir)
            if star:
                info.star_imports.append(star)
            elif not isinstance(statement.names, cst.ImportStar):
                module = imported_module(statement, rel, base_dir)
                for alias in statement.names:
                    name = dotted_name(alias.name) or ""
                    bound = (dotted_name(alias.asname.name) if alias.asname else None) or name  # type: ignore[arg-type]
                    info.name_imports.append((module, name, bound))
        value = getattr(statement, "value", None)
        for name in assigned_names(statement):
            info.assignments.append(
                Assignment(name, source, statement, value, isinstance(statement, cst.AugAssign))
            )
            if _is_apps_name(name) and value is not None:
                info.app_entries.extend(_strings_in(source, value))
        if isinstance(statement, cst.Expr) and isinstance(statement.value, cst.Call):
            method = call_name(statement.value) or ""
            owner, _, verb = method.rpartition(".")
            if _is_apps_name(owner) and verb in ("append", "extend", "insert"):
                info.app_entries.extend(_strings_in(source, statement.value))
    return info


def _imported_env_reader(info: SettingsFile, reader: Reader, base_dir: str) -> EnvReader | None:
    """A reader the file imports from a project module that builds it (`from config.env import env`,
    where config/env.py has `env = environ.Env()`), bound under the name the file uses."""
    for module, name, bound in info.name_imports:
        target = module_file(base_dir, module, reader)
        text = reader(target) if target is not None else None
        if text is None:
            continue
        try:
            statements = _top_level_small_statements(cst.parse_module(text))
        except cst.ParserSyntaxError:
            continue
        for statement in statements:
            found = _env_reader(statement)
            if found is not None and found.callable == name:
                return EnvReader(found.kind, bound)
    return None


class SettingsChain:
    """A settings file and every file it star-imports (recursively), in the order they are read."""

    def __init__(self, files: list[SettingsFile], reader: Reader | None = None, base_dir: str = ".") -> None:
        self.files = files
        self.reader, self.base_dir = reader, base_dir

    @classmethod
    def load(cls, reader: Reader, base_dir: str, start_files: list[str]) -> SettingsChain:
        files: list[SettingsFile] = []
        seen: set[str] = set()

        def visit(rel: str) -> None:
            if rel in seen:
                return
            seen.add(rel)
            text = reader(rel)
            if text is None:
                return
            info = analyse_settings_file(rel, text, base_dir)
            if info.env_reader is None:
                info.env_reader = _imported_env_reader(info, reader, base_dir)
            files.append(info)
            for dotted in info.star_imports:
                target = module_file(base_dir, dotted, reader)
                if target is not None:
                    visit(target)

        for start in start_files:
            visit(start)
        return cls(files, reader, base_dir)

    def file(self, rel: str) -> SettingsFile | None:
        return next((f for f in self.files if f.source.rel == rel), None)

    def assignments(self, name: str) -> list[Assignment]:
        return [a for f in self.files for a in f.assignments if a.name == name]

    def is_set(self, name: str) -> bool:
        return bool(self.assignments(name))

    def names(self) -> set[str]:
        return {a.name for f in self.files for a in f.assignments}

    def app_entries(self) -> list[AppEntry]:
        return [e for f in self.files for e in f.app_entries]

    def listing_of(self, app: str) -> AppEntry | None:
        """Where `app` is listed, as itself or as one of its AppConfig paths."""
        return next((e for e in self.app_entries() if e.app == app or e.app.startswith(app + ".")), None)

    def env_reader(self) -> EnvReader:
        return next((f.env_reader for f in self.files if f.env_reader is not None), OS_READER)

    def env_reader_in(self, rel: str) -> EnvReader:
        """The reader code in the file `rel` can call: its own (or one it imports by name), else one a file
        it star-imports binds (cookiecutter's local.py calls the `env` of `from .base import *`), else
        os.environ.get. The chain's first reader may live in a file `rel` never sees."""
        seen: set[str] = set()

        def find(current: str) -> EnvReader | None:
            info = self.file(current)
            if info is None or current in seen:
                return None
            seen.add(current)
            if info.env_reader is not None:
                return info.env_reader
            for dotted in info.star_imports:
                target = module_file(self.base_dir, dotted, self.reader) if self.reader else None
                found = find(target) if target is not None else None
                if found is not None:
                    return found
            return None

        return find(rel) or OS_READER

    def env_callables(self) -> set[str]:
        """The names the settings call to read the environment (`env`, `config`), besides os.environ."""
        return {f.env_reader.callable for f in self.files if f.env_reader is not None}

    def reads_environment(self, node: cst.BaseExpression | None, depth: int = 0) -> bool:
        """True when the value comes from the environment (directly or through another setting)."""
        if node is None or depth > 3:
            return False
        readers = self.env_callables()
        if isinstance(node, cst.Call):
            name = call_name(node) or ""
            owner = name.split(".")[0]
            return name in OS_ENV_CALLS or name in readers or (owner in readers and "." in name)
        if isinstance(node, cst.Subscript):
            return dotted_name(node.value) in ("os.environ", "environ")
        if isinstance(node, cst.Name):
            return any(self.reads_environment(a.value, depth + 1) for a in self.assignments(node.value))
        if isinstance(node, cst.BinaryOperation | cst.BooleanOperation):
            return any(self.reads_environment(side, depth + 1) for side in (node.left, node.right))
        if isinstance(node, cst.FormattedString):
            return any(
                self.reads_environment(part.expression, depth + 1)
                for part in node.parts
                if isinstance(part, cst.FormattedStringExpression)
            )
        return False


def settings_entry_files(facts: ProjectFacts) -> list[str]:
    """Every settings file the project uses: the settings module first, then the files discovery listed."""
    return list(dict.fromkeys([*facts.settings_files, facts.celery_settings_file, facts.installed_apps_file]))


def project_chain(facts: ProjectFacts, reader: Reader) -> SettingsChain:
    """The settings as the project loads them (used to decide whether something is set anywhere)."""
    return SettingsChain.load(reader, facts.base_dir, settings_entry_files(facts))


def celery_file_chain(facts: ProjectFacts, reader: Reader) -> SettingsChain:
    """The file CELERY_* settings go into, plus what it star-imports (what that file 'already sets')."""
    return SettingsChain.load(reader, facts.base_dir, [facts.celery_settings_file])
