"""A manifest of a project: every file, folder and symlink with its content digest, size and mode.

"Byte-identical afterwards" is checked by comparing two manifests: a file whose bytes or mode changed, a
file or folder the run left behind, or one it removed all show up. Symlinks are recorded as links (their
target text), never followed, so a link that leaves the project is compared, not read through.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pydantic import BaseModel


class Entry(BaseModel):
    kind: str  # "file", "dir" or "link"
    mode: int
    size: int = 0
    digest: str = ""  # sha256 of a file's bytes, or a link's target


Manifest = dict[str, Entry]


def manifest(root: Path) -> Manifest:
    """Every entry under root (root itself excluded), keyed by its POSIX path relative to root."""
    found: Manifest = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        base = Path(folder)
        for name in [*dirs, *files]:
            path = base / name
            rel = path.relative_to(root).as_posix()
            status = path.lstat()
            if path.is_symlink():
                found[rel] = Entry(kind="link", mode=status.st_mode, digest=os.readlink(path))
            elif path.is_dir():
                found[rel] = Entry(kind="dir", mode=status.st_mode)
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                found[rel] = Entry(kind="file", mode=status.st_mode, size=status.st_size, digest=digest)
    return found


def differences(before: Manifest, after: Manifest) -> list[str]:
    """What changed, one line per path: `changed`, `mode` (same bytes, other mode), `added`, `removed`."""
    lines = []
    for rel in sorted(before.keys() | after.keys()):
        old, new = before.get(rel), after.get(rel)
        if old is None:
            lines.append(f"added {rel}")
        elif new is None:
            lines.append(f"removed {rel}")
        elif (old.kind, old.digest) != (new.kind, new.digest):
            lines.append(f"changed {rel}")
        elif old.mode != new.mode:
            lines.append(f"mode {rel}: {oct(old.mode)} -> {oct(new.mode)}")
    return lines


def bytes_lost(before: Manifest, after: Manifest) -> int:
    """Bytes of original files that are missing or different (content or mode), plus bytes left behind."""
    lost = sum(
        entry.size
        for rel, entry in before.items()
        if entry.kind == "file" and (after.get(rel) is None or after[rel] != entry)
    )
    return lost + sum(after[rel].size for rel in after.keys() - before.keys())
