"""Pending edits to the user's project, kept in memory until every step has succeeded.

Steps read and write through a `ProjectEdits`; nothing reaches the disk until `commit`, which writes
each changed file once through the journal. A step that fails half-way therefore leaves the project
exactly as it was, and a file edited by several steps (settings: the CELERY_ block and INSTALLED_APPS)
gets one journal entry. A UTF-8 byte order mark is kept out of the text steps see (libcst drops it) and
written back in front of the file, so an editor's BOM survives the integration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tools.base import ToolError
from tools.django_celery.discovery_error import not_utf8
from tools.journal import Journal
from tools.sandbox import relative_to_project, resolve_in_project

FileStatus = Literal["created", "updated", "already correct"]
BOM = "\ufeff"


@dataclass
class FileReport:
    path: str
    status: FileStatus
    details: list[str] = field(default_factory=list)

    def line(self) -> str:
        details = f": {'; '.join(self.details)}" if self.details else ""
        return f"- {self.path}: {self.status}{details}"


class ProjectEdits:
    """In-memory texts of the files the steps look at, keyed by project-relative POSIX path."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self._original: dict[str, str | None] = {}
        self._current: dict[str, str | None] = {}
        self._details: dict[str, list[str]] = {}
        self._with_bom: set[str] = set()
        self.warnings: list[str] = []

    def rel(self, path: str | Path) -> str:
        return relative_to_project(self.root, resolve_in_project(self.root, path))

    def read(self, path: str | Path) -> str | None:
        """The file's text as the steps so far left it; None when it does not exist."""
        rel = self.rel(path)
        if rel not in self._current:
            target = self.root / rel
            if target.is_file():
                try:
                    # bytes -> str without newline translation: CRLF files stay CRLF
                    text: str | None = target.read_bytes().decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise ToolError(not_utf8(target, rel)) from exc
                if text is not None and text.startswith(BOM):
                    self._with_bom.add(rel)
                    text = text[len(BOM) :]
            else:
                text = None
            self._original[rel] = text
            self._current[rel] = text
        return self._current[rel]

    def exists(self, path: str | Path) -> bool:
        return self.read(path) is not None

    def write(self, path: str | Path, text: str, detail: str | None = None) -> None:
        """Replace the pending text of a file (and say what was added, for the summary)."""
        rel = self.rel(path)
        self.read(rel)
        self._current[rel] = text
        self.note(rel, detail)

    def note(self, path: str | Path, detail: str | None = None) -> None:
        """Record that a step looked at this file (it is reported even when nothing changed)."""
        rel = self.rel(path)
        self.read(rel)
        details = self._details.setdefault(rel, [])
        if detail and detail not in details:
            details.append(detail)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def reports(self) -> list[FileReport]:
        """What `commit` would do (or did) to each file a step looked at, in the order they were seen."""
        reports = []
        for rel, details in self._details.items():
            before, after = self._original[rel], self._current[rel]
            status: FileStatus = "already correct"
            if after != before:
                status = "created" if before is None else "updated"
            reports.append(FileReport(rel, status, list(details)))
        return reports

    def commit(self, journal: Journal) -> list[FileReport]:
        """Write every changed file through the journal; returns one report per file looked at."""
        for rel, text in self._current.items():
            if text is not None and text != self._original[rel]:
                journal.write_text(rel, (BOM if rel in self._with_bom else "") + text)
        return self.reports()


def render_summary(headline: str, reports: list[FileReport], warnings: list[str], notes: list[str]) -> str:
    """The command's answer: what happened to each file, then anything the user must know or do."""
    changed = [r for r in reports if r.status != "already correct"]
    lines = [headline]
    if reports and not changed:
        lines.append("Nothing to change: every file was already correct.")
    lines += ["Files:", *(r.line() for r in reports)] if reports else []
    lines += notes
    if warnings:
        lines += ["Warnings:", *(f"- {w}" for w in warnings)]
    return "\n".join(lines)
