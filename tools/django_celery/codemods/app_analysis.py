"""What `<pkg>/celery.py` and `<pkg>/__init__.py` already have: the analysis both the codemods and the
checks rely on, so "is the Celery app wired correctly" is decided in exactly one place.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

import libcst as cst

from tools.django_celery.codemods.cst_tools import call_name, dotted_name, keyword, positional, string_value
from tools.django_celery.codemods.source import PythonFile, Reader, module_file
from tools.django_celery.facts import ProjectFacts

CELERY_FACTORIES = {"Celery", "celery.Celery"}
DJANGO_SETTINGS_SOURCES = {"django.conf:settings", "settings"}


def celery_module_path(facts: ProjectFacts) -> str:
    """The module that creates the Celery app: the project's own wherever it is, else `<pkg>/celery.py`."""
    return facts.existing.celery_module or _join(facts.project_package_dir, "celery.py")


def init_module_path(facts: ProjectFacts) -> str:
    """The `__init__.py` of the app module's package: importing the app there loads it with Django."""
    return _join(posixpath.dirname(celery_module_path(facts)), "__init__.py")


def app_module_stem(facts: ProjectFacts) -> str:
    """The app module's own name, as the package `__init__` imports it (`celery`, `celery_app`)."""
    return facts.celery_app_module.rpartition(".")[2]


def _join(folder: str, name: str) -> str:
    return name if folder in ("", ".") else f"{folder.rstrip('/')}/{name}"


@dataclass
class Located:
    """A top-level statement of the module that does one of the things we look for."""

    index: int  # position of the statement in module.body
    statement: cst.BaseStatement
    where: str  # "path:line"
    call: cst.Call | None = None  # None for `os.environ["DJANGO_SETTINGS_MODULE"] = ...`


@dataclass
class CeleryModuleInfo:
    source: PythonFile
    app_variable: str | None = None
    app: Located | None = None
    setdefault: Located | None = None
    settings_module: str | None = None  # the value DJANGO_SETTINGS_MODULE is defaulted to
    settings_module_node: cst.BaseExpression | None = None
    config: Located | None = None
    namespace: str | None = None
    autodiscover: Located | None = None

    @property
    def settings_module_computed(self) -> bool:
        """The default is an expression (e.g. read from the environment): it cannot be checked statically."""
        return self.settings_module is None and self.settings_module_node is not None

    @property
    def setdefault_first(self) -> bool:
        return self.setdefault is not None and self.app is not None and self.setdefault.index < self.app.index

    @property
    def autodiscover_args(self) -> str | None:
        """Source of the arguments given to autodiscover_tasks(), None when it has none."""
        call = self.autodiscover.call if self.autodiscover is not None else None
        if call is None or not call.args:
            return None
        return ", ".join(self.source.module.code_for_node(a).rstrip(", ") for a in call.args)

    @property
    def legacy_autodiscover(self) -> bool:
        """`autodiscover_tasks(lambda: settings.INSTALLED_APPS)`: finds nothing for AppConfig entries."""
        args = self.autodiscover_args
        return args is not None and ("lambda" in args or "INSTALLED_APPS" in args)

    @property
    def config_source(self) -> str | None:
        """What config_from_object reads: "django.conf:settings", "settings", or None."""
        call = self.config.call if self.config is not None else None
        first = positional(call, 0) if call is not None else None
        if first is None:
            return None
        return string_value(first.value) or dotted_name(first.value)


def _top_level_small(source: PythonFile) -> list[tuple[int, cst.BaseStatement, cst.BaseSmallStatement]]:
    found = []
    for index, statement in enumerate(source.module.body):
        if isinstance(statement, cst.SimpleStatementLine):
            found.extend((index, statement, small) for small in statement.body)
    return found


def _forces_settings_module(small: cst.BaseSmallStatement) -> bool:
    """`os.environ["DJANGO_SETTINGS_MODULE"] = "..."` (forces rather than defaults; still sets it first)."""
    if not isinstance(small, cst.Assign) or not isinstance(small.targets[0].target, cst.Subscript):
        return False
    target = small.targets[0].target
    key = target.slice[0].slice if target.slice else None
    return (
        dotted_name(target.value) == "os.environ"
        and isinstance(key, cst.Index)
        and string_value(key.value) == "DJANGO_SETTINGS_MODULE"
    )


def analyse_celery_module(rel: str, text: str) -> CeleryModuleInfo:
    source = PythonFile.parse(rel, text)
    info = CeleryModuleInfo(source)
    for index, statement, small in _top_level_small(source):
        value = getattr(small, "value", None)
        name = call_name(value) if isinstance(value, cst.Call) else None
        where = source.where(statement)
        if isinstance(small, cst.Assign) and name in CELERY_FACTORIES and info.app is None:
            target = small.targets[0].target
            if isinstance(target, cst.Name):
                info.app_variable = target.value
                info.app = Located(index, statement, where, value)  # type: ignore[arg-type]
        elif _forces_settings_module(small) and info.setdefault is None:
            info.setdefault = Located(index, statement, where)
            info.settings_module = string_value(value)
            info.settings_module_node = value
        elif isinstance(small, cst.Expr) and isinstance(value, cst.Call) and name is not None:
            _record_call(info, index, statement, where, name, value)
    return info


def _record_call(
    info: CeleryModuleInfo, index: int, statement: cst.BaseStatement, where: str, name: str, call: cst.Call
) -> None:
    first = positional(call, 0)
    if name in ("os.environ.setdefault", "environ.setdefault") and info.setdefault is None:
        if first is not None and string_value(first.value) == "DJANGO_SETTINGS_MODULE":
            second = positional(call, 1)
            info.setdefault = Located(index, statement, where, call)
            info.settings_module = string_value(second.value) if second is not None else None
            info.settings_module_node = second.value if second is not None else None
    elif name.endswith(".config_from_object") and info.config is None:
        info.config = Located(index, statement, where, call)
        namespace = keyword(call, "namespace")
        info.namespace = string_value(namespace.value) if namespace is not None else None
    elif name.endswith(".autodiscover_tasks") and info.autodiscover is None:
        info.autodiscover = Located(index, statement, where, call)


def read_celery_module(facts: ProjectFacts, reader: Reader) -> CeleryModuleInfo | None:
    rel = celery_module_path(facts)
    text = reader(rel)
    return None if text is None else analyse_celery_module(rel, text)


def settings_module_problem(dotted: str | None, facts: ProjectFacts, reader: Reader) -> str | None:
    """Why DJANGO_SETTINGS_MODULE=`dotted` would not load the project's settings (None when it would)."""
    if not dotted:
        return "DJANGO_SETTINGS_MODULE is given no literal value"
    rel = module_file(facts.base_dir, dotted, reader)
    if rel is None:
        return f"{dotted!r} is not a module of the project (no such file under {facts.base_dir!r})"
    if rel.endswith("__init__.py"):
        package = PythonFile.parse(rel, reader(rel) or "")
        sets_anything = any(
            isinstance(s, cst.SimpleStatementLine) and isinstance(s.body[0], cst.Assign | cst.ImportFrom)
            for s in package.module.body
        )
        if not sets_anything:
            return (
                f"{dotted!r} is a settings package whose {rel} sets nothing: Celery would read no settings "
                "and fall back to AMQP on localhost"
            )
    return None


@dataclass
class InitInfo:
    source: PythonFile
    exported: str | None = None  # the name the Celery app is imported as, e.g. "celery_app"
    import_where: str | None = None
    import_index: int | None = None
    all_statement: cst.Assign | None = None
    all_literal: cst.List | cst.Tuple | None = None
    all_where: str | None = None

    @property
    def all_names(self) -> list[str] | None:
        if self.all_literal is None:
            return None
        return [v for e in self.all_literal.elements if (v := string_value(e.value)) is not None]

    @property
    def exports_app(self) -> bool:
        """The imported app is listed in a literal `__all__`."""
        names = self.all_names
        return self.exported is not None and names is not None and self.exported in names


def _imports_celery_module(small: cst.ImportFrom, app_module: str) -> bool:
    """`from .<stem> import ...` or `from <app_module> import ...`."""
    module = dotted_name(small.module) if small.module is not None else ""
    relative = len(small.relative)
    return (relative == 1 and module == app_module.rpartition(".")[2]) or (
        relative == 0 and module == app_module
    )


def analyse_init(rel: str, text: str, app_module: str, app_variable: str) -> InitInfo:
    source = PythonFile.parse(rel, text)
    info = InitInfo(source)
    for index, statement, small in _top_level_small(source):
        if (
            isinstance(small, cst.ImportFrom)
            and not isinstance(small.names, cst.ImportStar)
            and _imports_celery_module(small, app_module)
        ):
            for alias in small.names:
                if dotted_name(alias.name) == app_variable:
                    bound = alias.asname.name if alias.asname else alias.name
                    info.exported = dotted_name(bound)  # type: ignore[arg-type]
                    info.import_where = source.where(statement)
                    info.import_index = index
        elif isinstance(small, cst.Assign) and any(
            isinstance(t.target, cst.Name) and t.target.value == "__all__" for t in small.targets
        ):
            info.all_statement = small
            info.all_where = source.where(statement)
            info.all_literal = small.value if isinstance(small.value, cst.List | cst.Tuple) else None
    return info


def read_init(facts: ProjectFacts, reader: Reader, app_variable: str) -> InitInfo | None:
    rel = init_module_path(facts)
    text = reader(rel)
    return None if text is None else analyse_init(rel, text, facts.celery_app_module, app_variable)
