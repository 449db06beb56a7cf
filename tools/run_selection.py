"""Which recorded run `undo` and `diff` act on: the latest one whose changes are still in the project.

A second run of the integration changes nothing (every codemod is idempotent), so "the latest run" is
often a run with nothing to undo: three `undo`s after three runs used to undo two empty runs before
reaching the one that wrote the files. Runs that changed nothing are passed over (and named, so the user
sees why the run undone is not the newest one); runs already undone are never candidates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tools.journal import Journal

APPLIED = ("finished", "open")  # a run still in the project: it ended, or it is paused or crashed


@dataclass(frozen=True)
class SelectedRun:
    journal: Journal
    changed: tuple[str, ...]  # project-relative paths whose bytes differ from before the run
    passed_over: tuple[str, ...] = ()  # ids of later runs, still applied, that changed nothing

    @property
    def run_id(self) -> str:
        return self.journal.index.run_id

    def description(self) -> str:
        """'run X' plus why it was chosen, e.g. '(the latest run that changed something; run Y changed nothing)'."""
        if not self.passed_over:
            return f"run {self.run_id}"
        later = ", ".join(self.passed_over)
        verb = "changed" if len(self.passed_over) == 1 else "each changed"
        plural = "s" if len(self.passed_over) > 1 else ""
        return (
            f"run {self.run_id} (the latest run that changed something; the later run{plural} {later} "
            f"{verb} nothing)"
        )


def select_run(project_root: Path, run_id: str | None = None, home: Path | None = None) -> SelectedRun | None:
    """The run named `run_id` (whatever its state), else the latest applied run with changes in place.

    None when no run matches: no run recorded, the id is unknown, or every applied run changed nothing.
    """
    journals = Journal.runs_for(project_root, home=home)
    if run_id is not None:
        named = next((j for j in journals if j.index.run_id == run_id), None)
        return SelectedRun(named, changes_in_place(named)) if named is not None else None
    passed_over: list[str] = []
    for journal in reversed([j for j in journals if j.index.status in APPLIED]):
        changed = changes_in_place(journal)
        if changed:
            return SelectedRun(journal, tuple(changed), tuple(reversed(passed_over)))
        passed_over.append(journal.index.run_id)
    return None


def changes_in_place(journal: Journal) -> tuple[str, ...]:
    """Files whose bytes differ from before the run, and folders it created that are still there."""
    if journal.index.status == "rolled_back":
        return ()
    folders = [rel for rel in journal.index.created_dirs if (journal.project_root / rel).is_dir()]
    return tuple(dict.fromkeys([*journal.changed_files(), *folders]))
