"""The journal restores a project byte for byte and refuses paths outside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.journal import Journal
from tools.sandbox import PathEscapeError


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_rollback_restores_changed_and_removes_created(startproject: Path, tmp_path: Path) -> None:
    before = snapshot(startproject)
    journal = Journal.start(startproject, "run-1", home=tmp_path / "home")
    assert journal.write_text("mysite/settings.py", "CHANGED\n") is True
    assert journal.write_text("mysite/new/deep/file.py", "x = 1\n") is True
    assert journal.write_text("mysite/settings.py", "CHANGED AGAIN\n") is True
    assert sorted(journal.changed_files()) == ["mysite/new/deep/file.py", "mysite/settings.py"]

    reloaded = Journal.load(journal.run_dir)
    reloaded.rollback()
    assert snapshot(startproject) == before
    assert not (startproject / "mysite" / "new").exists()
    assert Journal.load(journal.run_dir).index.status == "rolled_back"


def test_unchanged_write_is_not_recorded(startproject: Path, tmp_path: Path) -> None:
    journal = Journal.start(startproject, "run-2", home=tmp_path / "home")
    same = (startproject / "manage.py").read_text()
    assert journal.write_text("manage.py", same) is False
    assert journal.index.entries == []


def test_escape_is_refused(startproject: Path, tmp_path: Path) -> None:
    journal = Journal.start(startproject, "run-3", home=tmp_path / "home")
    outside = tmp_path / "outside.txt"
    with pytest.raises(PathEscapeError, match="outside the project root"):
        journal.write_text("../outside.txt", "no")
    (startproject / "link").symlink_to(tmp_path)
    with pytest.raises(PathEscapeError):
        journal.write_text("link/outside.txt", "no")
    assert not outside.exists()


def test_runs_for_finds_the_projects_journals(startproject: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    Journal.start(startproject, "a", home=home)
    Journal.start(tmp_path, "b", home=home)
    assert [j.index.run_id for j in Journal.runs_for(startproject, home=home)] == ["a"]
