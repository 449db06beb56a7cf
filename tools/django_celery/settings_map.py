"""A static map of a project's settings: which files make them up and where INSTALLED_APPS really lives.

Real settings are rarely one `settings.py`: they are packages (`base.py` + `dev.py` doing
`from .base import *`), cookiecutter's `DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS`, tuples extended
with `+=` in an environment file. Codemods must edit the file where a change takes effect for every
environment, in the shape already used there, so this module reads the files with libcst (never
importing them) and records the chain of star imports and every binding of INSTALLED_APPS and its parts.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path
from typing import Literal

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import MetadataWrapper, PositionProvider
from pydantic import BaseModel, Field

from tools.django_celery.discovery_error import DiscoveryError, not_utf8

Shape = Literal["list", "tuple", "concatenation", "other"]
INSTALLED_APPS = "INSTALLED_APPS"
_THIRD_PARTY_HINTS = ("THIRD", "EXTERNAL", "VENDOR")
_EXTENDING_METHODS = ("append", "extend", "insert")


class SettingBinding(BaseModel):
    """One module-level binding of a name in a settings file."""

    name: str
    file: Path
    line: int
    shape: Shape  # of the assigned value
    parts: list[str] = Field(default_factory=list)  # names joined with + (for "concatenation")
    operator: str = "="  # "=", "+=", "append", "extend", "insert"
    extends: bool = False  # builds on the name's previous value (+=, .append, `X = X + [...]`)


class InstalledAppsLayout(BaseModel):
    """How INSTALLED_APPS is built, and where a new third-party app belongs."""

    definition: SettingBinding  # the assignment that takes effect (list, tuple, concatenation, ...)
    extensions: list[SettingBinding] = Field(default_factory=list)  # += / append / X = X + ... in any file
    parts: dict[str, SettingBinding] = Field(
        default_factory=dict
    )  # for a concatenation: where each name is set
    third_party_part: str | None = None  # e.g. "THIRD_PARTY_APPS" when the concatenation has one
    target_file: (
        Path  # where a new third-party app is added: the third-party part's file, else the definition's
    )

    def describe(self, root: Path | None = None) -> str:
        """One line for humans and the model, e.g. 'concatenation of names [A, B] in base.py:40; ...'."""

        def where(binding: SettingBinding) -> str:
            return f"{_show(binding.file, root)}:{binding.line}"

        text = {
            "list": "list literal",
            "tuple": "tuple literal",
            "concatenation": f"concatenation of names [{', '.join(self.definition.parts)}]",
            "other": "an expression that is not a literal",
        }[self.definition.shape]
        text += f" in {where(self.definition)}"
        if self.third_party_part and self.third_party_part in self.parts:
            part = self.parts[self.third_party_part]
            text += f" (third-party apps go in {part.name}, a {part.shape} at {where(part)})"
        for extension in self.extensions:
            text += f"; extended with {extension.operator} in {where(extension)}"
        return text


class SettingsMap(BaseModel):
    module_file: Path  # the file DJANGO_SETTINGS_MODULE names
    files: list[Path]  # the module file first, then the files it star-imports, depth first
    installed_apps: InstalledAppsLayout | None  # None when no file assigns INSTALLED_APPS statically
    celery_settings_file: Path  # the base file every environment shares: where CELERY_* settings belong
    unresolved_imports: list[str] = Field(default_factory=list)  # star imports not found in the project


def settings_file_for(import_root: Path, module: str) -> Path | None:
    """The file of a dotted module under `import_root` (`a/b.py` or `a/b/__init__.py`), None if absent."""
    target = import_root.joinpath(*module.split("."))
    for candidate in (target.parent / f"{target.name}.py", target / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def package_root(path: Path) -> Path:
    """The folder a module is imported from: the parent of its outermost package (folders with __init__.py)."""
    folder = path.resolve().parent
    while (folder / "__init__.py").is_file():
        folder = folder.parent
    return folder


def installed_apps_layout(path: Path) -> InstalledAppsLayout | None:
    """How INSTALLED_APPS is built when `path` (a settings module's file) is the settings in use."""
    return map_settings(path).installed_apps


def map_settings(module_file: Path, import_root: Path | None = None) -> SettingsMap:
    """Follow the settings module's star imports and locate INSTALLED_APPS and its parts."""
    module_file = module_file.resolve()
    import_root = (import_root or package_root(module_file)).resolve()
    parsed: dict[Path, _FileBindings] = {}
    unresolved: list[str] = []

    def walk(file: Path) -> None:
        if file in parsed:
            return
        parsed[file] = _read_bindings(file)
        for level, module in parsed[file].star_imports:
            target = _resolve_star_import(file, level, module, import_root)
            if target is None:
                unresolved.append(f"{file}: from {'.' * level}{module or ''} import *")
            else:
                walk(target)

    walk(module_file)
    files = list(parsed)
    layout = _installed_apps(files, parsed)
    if not parsed[module_file].star_imports:
        celery_file = module_file  # a plain settings.py is its own base
    else:
        celery_file = _shared_celery_file(files[1:], parsed) or (
            layout.definition.file if layout is not None else files[-1]
        )
    return SettingsMap(
        module_file=module_file,
        files=files,
        installed_apps=layout,
        celery_settings_file=celery_file,
        unresolved_imports=unresolved,
    )


def _installed_apps(files: list[Path], parsed: dict[Path, _FileBindings]) -> InstalledAppsLayout | None:
    """The effective definition is the nearest file's (a file overrides what it star-imports)."""
    definition = _nearest_definition(INSTALLED_APPS, files, parsed)
    if definition is None:
        return None
    extensions = [b for f in files for b in parsed[f].bindings if b.name == INSTALLED_APPS and b.extends]
    parts = {
        name: found
        for name in definition.parts
        if (found := _nearest_definition(name, files, parsed)) is not None
    }
    third_party = next((n for n in definition.parts if any(h in n.upper() for h in _THIRD_PARTY_HINTS)), None)
    target = parts[third_party].file if third_party in parts else definition.file
    return InstalledAppsLayout(
        definition=definition,
        extensions=extensions,
        parts=parts,
        third_party_part=third_party,
        target_file=target,
    )


def _nearest_definition(
    name: str, files: list[Path], parsed: dict[Path, _FileBindings]
) -> SettingBinding | None:
    for file in files:
        found = [b for b in parsed[file].bindings if b.name == name and not b.extends]
        if found:
            return found[-1]  # within one file, the last assignment wins
    return None


def _resolve_star_import(file: Path, level: int, module: str | None, import_root: Path) -> Path | None:
    if level == 0:
        return settings_file_for(import_root, module or "")
    package = file.parent
    for _ in range(level - 1):
        package = package.parent
    if not module:
        init = package / "__init__.py"
        return init if init.is_file() else None
    return settings_file_for(package, module)


def _shared_celery_file(shared: list[Path], parsed: dict[Path, _FileBindings]) -> Path | None:
    """The shared settings file that already holds the most CELERY_* settings (a project's own
    `settings/celery.py`): new ones go beside them, not into a file the project keeps free of Celery."""
    counts = {f: sum(b.name.startswith("CELERY_") for b in parsed[f].bindings) for f in shared}
    best = max(counts, key=lambda f: counts[f], default=None)
    return best if best is not None and counts[best] else None


class _FileBindings(BaseModel):
    star_imports: list[tuple[int, str | None]]  # (relative level, dotted module)
    bindings: list[SettingBinding]


def _read_bindings(file: Path) -> _FileBindings:
    try:
        source = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DiscoveryError(not_utf8(file)) from exc
    return _bindings_of(file, source)


@lru_cache(maxsize=256)
def _bindings_of(file: Path, source: str) -> _FileBindings:
    """Read once per (file, text): a run maps the settings three times (discovery and two gates' fresh
    facts), mostly unchanged, and the parse with positions was a third of discovery's CPU. Nothing
    changes a _FileBindings after it is made, so the cached one is shared."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise syntax_error(file, source, exc.raw_line) from exc
    visitor = _BindingCollector(file)
    MetadataWrapper(module, unsafe_skip_copy=True).visit(visitor)
    return _FileBindings(star_imports=visitor.star_imports, bindings=visitor.bindings)


def syntax_error(file: Path, source: str, fallback_line: int) -> DiscoveryError:
    """A DiscoveryError naming file:line of a syntax error (Python's own line and message when it has one)."""
    line, message = fallback_line, "invalid syntax"
    try:
        ast.parse(source, filename=str(file))
    except SyntaxError as exc:
        line, message = exc.lineno or fallback_line, exc.msg
    return DiscoveryError(
        f"{file}:{line}: syntax error ({message}). Fix it first and run again: "
        "the agent never edits a file it cannot parse."
    )


class _BindingCollector(cst.CSTVisitor):
    """Module-level star imports and name bindings; bodies of functions and classes are not settings."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, file: Path) -> None:
        super().__init__()
        self.file = file
        self.star_imports: list[tuple[int, str | None]] = []
        self.bindings: list[SettingBinding] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            module = get_full_name_for_node(node.module) if node.module else None
            self.star_imports.append((len(node.relative), module))

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                self._bind(node, target.target.value, node.value, "=")

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if isinstance(node.target, cst.Name) and node.value is not None:
            self._bind(node, node.target.value, node.value, "=")

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.target, cst.Name) and isinstance(node.operator, cst.AddAssign):
            self._bind(node, node.target.value, node.value, "+=")

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.attr.value in _EXTENDING_METHODS
        ):
            self._bind(node, func.value.value, node, func.attr.value)

    def _bind(self, node: cst.CSTNode, name: str, value: cst.BaseExpression, operator: str) -> None:
        shape, parts = _shape_of(value)
        self.bindings.append(
            SettingBinding(
                name=name,
                file=self.file,
                line=self.get_metadata(PositionProvider, node).start.line,
                shape=shape,
                parts=parts,
                operator=operator,
                extends=operator != "=" or name in _names_in(value),
            )
        )


def _shape_of(value: cst.BaseExpression) -> tuple[Shape, list[str]]:
    if isinstance(value, cst.List):
        return "list", []
    if isinstance(value, cst.Tuple):
        return "tuple", []
    if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add):
        return "concatenation", [o.value for o in _added_operands(value) if isinstance(o, cst.Name)]
    return "other", []


def _added_operands(value: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add):
        return _added_operands(value.left) + _added_operands(value.right)
    return [value]


def _names_in(value: cst.CSTNode) -> set[str]:
    found: set[str] = set()

    class _Names(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            found.add(node.value)

    value.visit(_Names())
    return found


def _show(path: Path, root: Path | None) -> str:
    if root is None:
        return str(path)
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
