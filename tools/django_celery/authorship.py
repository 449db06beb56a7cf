"""Which lines of the project this tool wrote, according to the journals of its runs (undone runs excluded).

Checks judge what the agent wrote more strictly than what the user already had: a user's own
`CELERY_WORKER_PREFETCH_MULTIPLIER = 4` is reported, never silently overridden and never a reason to undo
the whole integration; the same value written by the agent is a failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tools.django_celery.codemods.secret_scan import added_lines
from tools.journal import Journal


@dataclass
class Authorship:
    created: set[str] = field(default_factory=set)  # files our runs created
    added: dict[str, set[int]] = field(default_factory=dict)  # file -> line numbers our runs added

    def wrote(self, where: str) -> bool:
        """Whether our runs wrote the line at "path:line" (every line of a file they created counts)."""
        rel, _, line = where.rpartition(":")
        return rel in self.created or (line.isdigit() and int(line) in self.added.get(rel, set()))


def authorship(root: Path) -> Authorship:
    found = Authorship()
    for journal in Journal.runs_for(root):
        if journal.index.status == "rolled_back":
            continue
        for entry in journal.index.entries:
            current = root / entry.path
            if not current.is_file():
                continue
            if not entry.existed:
                found.created.add(entry.path)
                continue
            try:
                text = current.read_bytes().decode("utf-8")
                original = (journal.original_bytes(entry) or b"").decode("utf-8")
            except UnicodeDecodeError:
                continue
            found.added.setdefault(entry.path, set()).update(added_lines(original, text))
    return found
