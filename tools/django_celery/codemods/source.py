"""Parsed Python files with line numbers, read either from disk or from a pending `ProjectEdits`.

Codemods read through the workspace (they must see what earlier steps changed); checks read the disk.
Both go through `Reader`, so the analysis that answers "what does celery.py / settings have" is the same
code for both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from tools.django_celery.codemods.cst_tools import parse
from tools.sandbox import PathEscapeError, resolve_in_project

Reader = Callable[[str], str | None]  # project-relative path -> text, None when absent


def disk_reader(root: Path) -> Reader:
    """Read files of the project as they are on disk (None for missing, unreadable or outside paths)."""

    def read(rel: str) -> str | None:
        try:
            target = resolve_in_project(root, rel)
            return target.read_bytes().decode("utf-8") if target.is_file() else None
        except (OSError, UnicodeDecodeError, PathEscapeError):
            return None

    return read


@dataclass
class PythonFile:
    """One parsed module; `module` is the tree positions refer to, so transforms must start from it."""

    rel: str
    text: str
    module: cst.Module
    _positions: dict[cst.CSTNode, object]

    @classmethod
    def parse(cls, rel: str, text: str) -> PythonFile:
        return _parsed(rel, text)

    @classmethod
    def read(cls, reader: Reader, rel: str) -> PythonFile | None:
        text = reader(rel)
        return None if text is None else cls.parse(rel, text)

    def line(self, node: cst.CSTNode) -> int:
        position = self._positions.get(node)
        return position.start.line if position is not None else 0  # type: ignore[attr-defined]

    def where(self, node: cst.CSTNode) -> str:
        return f"{self.rel}:{self.line(node)}"


@lru_cache(maxsize=512)
def _parsed(rel: str, text: str) -> PythonFile:
    """Parse once per (path, text): a run reads the same settings and celery.py in preflight, setup, add-backend
    and every static check, and a libcst parse with positions costs 5-20 ms a file. Safe to share: libcst
    trees are immutable and nothing writes to a PythonFile."""
    wrapper = MetadataWrapper(parse(text, rel))
    return PythonFile(rel, text, wrapper.module, dict(wrapper.resolve(PositionProvider)))


def module_file(base_dir: str, dotted: str, reader: Reader) -> str | None:
    """Project-relative file of a dotted module importable from `base_dir` (module.py or package/__init__)."""
    prefix = "" if base_dir in ("", ".") else base_dir.rstrip("/") + "/"
    stem = prefix + dotted.replace(".", "/")
    for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
        if reader(candidate) is not None:
            return candidate
    return None


def module_name_of(base_dir: str, rel: str) -> str:
    """Dotted module name of a project-relative .py file, as imported from `base_dir`."""
    path = Path(rel)
    if base_dir not in ("", "."):
        path = path.relative_to(base_dir)
    parts = list(path.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)
