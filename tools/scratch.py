"""Temporary folders that a killed run does not leave behind for good.

Verification builds overlay settings, a copy of the SQLite database and the worker's own temp files in a
scratch folder. A run that is SIGKILLed cannot remove it, so each folder's name carries the pid of the run
that made it (`djint-verify-<pid>-…`), and every later run, resume or undo sweeps the folders whose run is
gone — like a stale lock, a crash costs nothing lasting.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tools.lifetime import process_alive

PREFIX = "djint-"
_OWNED = re.compile(rf"^{PREFIX}[a-z]+-(\d+)-")


@contextmanager
def scratch_dir(purpose: str) -> Iterator[Path]:
    """A new folder `djint-<purpose>-<pid>-XXXX` in the temp folder, removed when the block ends."""
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{purpose}-{os.getpid()}-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def sweep_stale_scratch(temp: Path | None = None) -> list[str]:
    """Remove the scratch folders of runs that are gone; their names are returned."""
    root = Path(temp or tempfile.gettempdir())
    removed = []
    for entry in root.iterdir() if root.is_dir() else []:
        owner = _OWNED.match(entry.name)
        if owner and entry.is_dir() and not entry.is_symlink() and not process_alive(int(owner.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    return removed
