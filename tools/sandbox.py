"""Confine every path a tool touches to the project root.

The model names paths; a path that leaves the project (`..`, an absolute path elsewhere, or a symlink
whose target is outside) is refused before anything is read or written.
"""

from __future__ import annotations

import os
from pathlib import Path


class PathEscapeError(ValueError):
    """A path resolves outside the project root."""


def resolve_in_project(root: Path, path: str | os.PathLike[str]) -> Path:
    """Return the absolute, symlink-resolved form of `path` (relative paths are taken from `root`).

    Raises PathEscapeError naming the path and the root when it would leave the project.
    """
    root_resolved = Path(root).resolve()
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        candidate = root_resolved / candidate
    resolved = candidate.resolve()
    if resolved != root_resolved and root_resolved not in resolved.parents:
        raise PathEscapeError(
            f"{os.fspath(path)!r} resolves to {resolved}, outside the project root {root_resolved}. "
            "Use a path inside the project (relative paths are taken from the project root)."
        )
    return resolved


def relative_to_project(root: Path, path: Path) -> str:
    """The POSIX-style project-relative form of an absolute path inside the project."""
    return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
