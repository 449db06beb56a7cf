"""`undo` and `diff` act on the latest run whose changes are still in the project, and say which run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.cli import main
from tools.journal import Journal
from tools.run_selection import select_run


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "mysite").mkdir(parents=True)
    (root / "mysite" / "settings.py").write_text("DEBUG = True\n")
    return root


def record_run(project: Path, run_id: str, writes: dict[str, str], status: str = "finished") -> Journal:
    journal = Journal.start(project, run_id, home=Path(os.environ["DJANGO_INTEGRATOR_HOME"]))
    for path, text in writes.items():
        journal.write_text(path, text)
    if status == "finished":
        journal.finish()
    return journal


def test_runs_that_changed_nothing_are_passed_over_and_named(project: Path) -> None:
    record_run(project, "run-1", {"mysite/celery.py": "app = 1\n", "mysite/settings.py": "DEBUG = False\n"})
    record_run(project, "run-2", {"mysite/celery.py": "app = 1\n"})  # same bytes: nothing written
    record_run(project, "run-3", {}, status="open")  # paused or crashed before any write
    selected = select_run(project)
    assert selected is not None and selected.run_id == "run-1"
    assert selected.passed_over == ("run-2", "run-3")
    assert selected.changed == ("mysite/celery.py", "mysite/settings.py")
    assert selected.description() == (
        "run run-1 (the latest run that changed something; the later runs run-2, run-3 each changed nothing)"
    )


def test_an_undone_run_is_never_selected_again(project: Path) -> None:
    record_run(project, "run-1", {"mysite/a.py": "a\n"})
    record_run(project, "run-2", {"mysite/settings.py": "DEBUG = False\n"})
    first = select_run(project)
    assert first is not None and first.run_id == "run-2" and first.passed_over == ()
    first.journal.rollback()
    second = select_run(project)
    assert second is not None and second.run_id == "run-1"
    second.journal.rollback()
    assert select_run(project) is None


def test_a_named_run_is_selected_whatever_it_changed(project: Path) -> None:
    record_run(project, "run-1", {"mysite/a.py": "a\n"})
    record_run(project, "run-2", {})
    named = select_run(project, "run-2")
    assert named is not None and named.run_id == "run-2" and named.changed == ()
    assert select_run(project, "no-such-run") is None


def test_a_folder_the_run_created_counts_as_a_change(project: Path) -> None:
    journal = record_run(project, "run-1", {}, status="open")
    (project / "media").mkdir()
    journal.record_created("media")
    selected = select_run(project)
    assert selected is not None and selected.changed == ("media",)


def test_three_undos_after_three_runs(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The bug: undo took the newest run even when it changed nothing; now the first undo restores."""
    before = snapshot(project)
    record_run(project, "run-1", {"mysite/celery.py": "app = 1\n", "mysite/settings.py": "DEBUG = False\n"})
    record_run(project, "run-2", {})
    record_run(project, "run-3", {})

    assert main(["diff", str(project)]) == 0
    captured = capsys.readouterr()
    assert "+++ b/mysite/celery.py" in captured.out and "-DEBUG = True" in captured.out
    assert "changes of run run-1 (the latest run that changed something" in captured.err

    assert main(["undo", str(project)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "Undid run run-1 (the latest run that changed something; the later runs run-2, run-3"
    )
    assert "restored 2 file(s): mysite/settings.py, mysite/celery.py" in out
    assert snapshot(project) == before

    assert main(["undo", str(project)]) == 0
    assert capsys.readouterr().out.startswith("Nothing to undo: no run recorded for")
    assert main(["diff", str(project)]) == 0
    assert capsys.readouterr().err.startswith("django-integrator: no recorded run has changes still in place")
    assert main(["undo", str(project), "--run", "run-1"]) == 2
    assert "run run-1 was already undone" in capsys.readouterr().err
    assert snapshot(project) == before


def test_a_file_a_run_backed_up_and_left_unchanged_is_never_its_change(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Seen on a real run: a second, no-op run backs the database up before a migrate that applies nothing.
    Once the first run is undone, the database differs from that backup, but the second run never changed
    it: a further undo must not put the first run's database back."""
    database = project / "db.sqlite3"
    database.write_bytes(b"SQLite format 3\0 before")
    before = snapshot(project)
    first = record_run(project, "run-1", {"mysite/celery.py": "app = 1\n"})
    first.write_bytes("db.sqlite3", b"SQLite format 3\0 migrated")
    first.finish()
    second = Journal.start(project, "run-2", home=Path(os.environ["DJANGO_INTEGRATOR_HOME"]))
    second.backup("db.sqlite3")  # a migrate with nothing to apply: backed up, left as it was
    second.finish()

    selected = select_run(project)
    assert selected is not None and selected.run_id == "run-1" and selected.passed_over == ("run-2",)
    assert main(["runs", str(project)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "run-1  finished     changed 2 file(s)",
        "run-2  finished     changed 0 file(s)",
    ]
    assert main(["undo", str(project)]) == 0
    assert snapshot(project) == before
    assert select_run(project) is None
    assert main(["undo", str(project)]) == 0
    assert snapshot(project) == before
