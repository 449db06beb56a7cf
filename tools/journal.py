"""The journal: every change to the user's project goes through here, so `undo` can restore it byte for byte.

Before a file is changed for the first time in a run, its original bytes (or the fact that it did not
exist) are saved under the run's folder, outside the project. Writes are atomic (temp file in the same
folder, then `os.replace`), and the journal's own index is rewritten after every new entry, so even a
killed run leaves a journal that `undo` can apply.
"""

from __future__ import annotations

import difflib
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from tools.sandbox import relative_to_project, resolve_in_project

JournalStatus = Literal["open", "finished", "rolled_back"]


def state_home() -> Path:
    """Where runs keep journals, transcripts and the checkpointer (never inside the user's project)."""
    explicit = os.environ.get("DJANGO_INTEGRATOR_HOME")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state"
    return base / "django-integrator"


def new_run_id() -> str:
    """A run's id: when it started, then six random hex digits."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def run_dir(run_id: str, home: Path | None = None) -> Path:
    """A run's folder in the state home: its journal, backups and transcript."""
    return (home or state_home()) / "runs" / run_id


def ensure_private(home: Path) -> Path:
    """Create the state folder readable by this user only: it holds backups of the project's files, the
    checkpoints a resume needs and the transcripts. A folder that already exists keeps its mode."""
    if not home.exists():
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
    return home


class JournalEntry(BaseModel):
    path: str  # project-relative, POSIX style
    existed: bool
    backup: str | None = None  # file name under the run's backups/ folder
    mode: int | None = None
    # Set when the run finishes: whether the run itself left this path different from before it. A run
    # may back a file up and leave it as it was (a database whose migrations were all applied already);
    # later changes by someone else (an undo of an earlier run, the user) are not this run's changes.
    changed_by_run: bool | None = None


class JournalIndex(BaseModel):
    run_id: str
    project_root: str
    status: JournalStatus = "open"
    started_at: float = Field(default_factory=time.time)
    entries: list[JournalEntry] = Field(default_factory=list)
    created_dirs: list[str] = Field(default_factory=list)


class Journal:
    """Backs up each file before its first change in a run and can put every file back."""

    def __init__(self, run_dir: Path, index: JournalIndex) -> None:
        self.run_dir = run_dir
        self.index = index
        self.project_root = Path(index.project_root)

    # ----- lifecycle -------------------------------------------------------------------------------
    @classmethod
    def start(cls, project_root: Path, run_id: str, home: Path | None = None) -> Journal:
        folder = run_dir(run_id, ensure_private(home or state_home()))
        (folder / "backups").mkdir(parents=True, exist_ok=True)
        journal = cls(folder, JournalIndex(run_id=run_id, project_root=str(Path(project_root).resolve())))
        journal._save()
        return journal

    @classmethod
    def load(cls, run_dir: Path) -> Journal:
        index = JournalIndex.model_validate_json((run_dir / "journal.json").read_text())
        return cls(run_dir, index)

    @classmethod
    def runs_for(cls, project_root: Path, home: Path | None = None) -> list[Journal]:
        """Every journal recorded for this project, oldest first."""
        root = str(Path(project_root).resolve())
        runs_dir = (home or state_home()) / "runs"
        found = []
        for index_file in runs_dir.glob("*/journal.json") if runs_dir.is_dir() else []:
            try:
                journal = cls.load(index_file.parent)
            except (OSError, ValueError):
                continue
            if journal.index.project_root == root:
                found.append(journal)
        return sorted(found, key=lambda j: j.index.started_at)

    def finish(self) -> None:
        for entry in self.index.entries:
            entry.changed_by_run = self._differs_from_before(entry)
        self.index.status = "finished"
        self._save()

    # ----- recording -------------------------------------------------------------------------------
    def _entry(self, rel: str) -> JournalEntry | None:
        return next((e for e in self.index.entries if e.path == rel), None)

    def backup(self, path: str | os.PathLike[str]) -> Path:
        """Record the original state of `path` (once per run) and return its absolute path."""
        target = resolve_in_project(self.project_root, path)
        rel = relative_to_project(self.project_root, target)
        if self._entry(rel) is not None:
            return target
        if target.exists():
            backup_name = f"{len(self.index.entries):04d}-{target.name}"
            shutil.copy2(target, self.run_dir / "backups" / backup_name)
            entry = JournalEntry(path=rel, existed=True, backup=backup_name, mode=target.stat().st_mode)
        else:
            entry = JournalEntry(path=rel, existed=False)
            self._record_missing_dirs(target.parent)
        self.index.entries.append(entry)
        self._save()
        return target

    def record_created(self, path: str | os.PathLike[str]) -> Path:
        """Record a file or folder a shell command created outside the journal, so that undo removes it.

        Only the parent is resolved: a created symlink is recorded as itself, never as the file it points to
        (undo must not delete a pre-existing target). A path already recorded keeps its first entry.
        """
        given = Path(path)
        target = resolve_in_project(self.project_root, given.parent) / given.name
        rel = relative_to_project(self.project_root, target.parent)
        rel = target.name if rel == "." else f"{rel}/{target.name}"
        if target.is_dir() and not target.is_symlink():
            if rel not in self.index.created_dirs:
                self.index.created_dirs.append(rel)
                self._save()
        elif self._entry(rel) is None:
            self.index.entries.append(JournalEntry(path=rel, existed=False))
            self._save()
        return target

    def _record_missing_dirs(self, directory: Path) -> None:
        missing = []
        while not directory.exists():
            missing.append(directory)
            directory = directory.parent
        for created in reversed(missing):
            rel = relative_to_project(self.project_root, created)
            if rel not in self.index.created_dirs:
                self.index.created_dirs.append(rel)

    def write_text(self, path: str | os.PathLike[str], text: str) -> bool:
        """Atomically write `text` as UTF-8; False (and nothing touched) when the content is the same."""
        return self.write_bytes(path, text.encode("utf-8"))

    def write_bytes(self, path: str | os.PathLike[str], data: bytes) -> bool:
        target = resolve_in_project(self.project_root, path)
        if target.is_file() and target.read_bytes() == data:
            return False
        self.backup(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        mode = target.stat().st_mode if target.exists() else None
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            if mode is not None:
                os.chmod(tmp, mode)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return True

    # ----- reading back ----------------------------------------------------------------------------
    def changed_files(self) -> list[str]:
        """Project-relative paths this run changed that still differ from what they were before the run.

        A path the finished run left as it found it is never listed, whatever happened to it since."""
        return [
            entry.path
            for entry in self.index.entries
            if entry.changed_by_run is not False and self._differs_from_before(entry)
        ]

    def _differs_from_before(self, entry: JournalEntry) -> bool:
        current = self.project_root / entry.path
        if not entry.existed:
            return current.exists() or current.is_symlink()
        return not current.exists() or current.read_bytes() != self.original_bytes(entry)

    def diff(self) -> str:
        """A unified diff of every text file the run changed (binary files, such as a database, by name)."""
        chunks = []
        for rel in self.changed_files():
            entry = self._entry(rel)
            assert entry is not None
            before = self.original_bytes(entry) or b""
            current = self.project_root / rel
            after = current.read_bytes() if current.is_file() else b""
            try:
                old_lines = before.decode("utf-8").splitlines(keepends=True)
                new_lines = after.decode("utf-8").splitlines(keepends=True)
            except UnicodeDecodeError:
                chunks.append(f"Binary file {rel} changed\n")
                continue
            source = f"a/{rel}" if entry.existed else "/dev/null"
            target = f"b/{rel}" if current.exists() else "/dev/null"
            chunks.append("".join(difflib.unified_diff(old_lines, new_lines, source, target)))
        return "".join(chunks)

    def original_bytes(self, entry: JournalEntry) -> bytes | None:
        if not entry.existed or entry.backup is None:
            return None
        return (self.run_dir / "backups" / entry.backup).read_bytes()

    # ----- undo ------------------------------------------------------------------------------------
    def rollback(self) -> list[str]:
        """Put every recorded file back as it was; returns the paths restored or removed."""
        restored = []
        for entry in reversed(self.index.entries):
            target = self.project_root / entry.path
            if entry.existed and entry.backup is not None:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(self.run_dir / "backups" / entry.backup, target)
                if entry.mode is not None:
                    os.chmod(target, entry.mode)
                restored.append(entry.path)
            elif target.exists() or target.is_symlink():
                target.unlink()
                restored.append(entry.path)
        for rel in sorted(self.index.created_dirs, key=lambda p: p.count("/"), reverse=True):
            directory = self.project_root / rel
            _remove_dir_if_only_caches(directory)
        self.index.status = "rolled_back"
        self._save()
        return restored

    def _save(self) -> None:
        data = self.index.model_dump_json(indent=2)
        fd, tmp = tempfile.mkstemp(dir=self.run_dir, prefix=".journal.", suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            handle.write(data)
        os.replace(tmp, self.run_dir / "journal.json")


def _remove_dir_if_only_caches(directory: Path) -> None:
    """Remove a folder the run created, unless the user has since put something of theirs in it."""
    if not directory.is_dir():
        return
    for child in directory.iterdir():
        if child.name == "__pycache__" and child.is_dir():
            shutil.rmtree(child)
    if not any(directory.iterdir()):
        directory.rmdir()
