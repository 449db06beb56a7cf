"""Read, Write and Edit on a real startproject: numbering, journaled changes, refusals, sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tool_support import folders, make_ctx, snapshot
from tools import files


def tools_for(project: Path, tmp_path: Path):
    ctx = make_ctx(project, tmp_path)
    read, write, edit = files.build(ctx)
    return ctx, read, write, edit


def test_read_numbers_lines_and_pages(startproject: Path, tmp_path: Path) -> None:
    _, read, _, _ = tools_for(startproject, tmp_path)
    settings_lines = (startproject / "mysite" / "settings.py").read_text().splitlines()

    first = read.invoke({"path": "mysite/settings.py", "limit": 3})
    assert first.splitlines()[:3] == [f"{n:6}\t{settings_lines[n - 1]}" for n in (1, 2, 3)]
    assert f"{len(settings_lines) - 3} more lines" in first and "offset=4" in first

    page = read.invoke({"path": "mysite/settings.py", "offset": 4, "limit": 2})
    assert page.splitlines()[0] == f"     4\t{settings_lines[3]}"
    assert page.splitlines()[1].startswith("     5\t")

    whole = read.invoke({"path": str(startproject / "manage.py")})
    assert "more lines" not in whole
    assert whole.count("\n") + 1 == len((startproject / "manage.py").read_text().splitlines())

    past = read.invoke({"path": "manage.py", "offset": 10_000})
    assert past.startswith("Error:") and "past the end" in past


def test_read_cuts_long_lines_and_reports_missing_and_binary_files(
    startproject: Path, tmp_path: Path
) -> None:
    _, read, _, _ = tools_for(startproject, tmp_path)
    (startproject / "long.txt").write_text("y" * 5000 + "\n")
    (startproject / "blob.bin").write_bytes(b"\xff\xfe\x00\x01")
    long_line = read.invoke({"path": "long.txt"})
    assert "line cut, 3000 more characters" in long_line and len(long_line) < 2200
    assert read.invoke({"path": "nope.py"}).startswith("Error: no such file")
    assert "not UTF-8" in read.invoke({"path": "blob.bin"})
    assert "directory" in read.invoke({"path": "mysite"})


def test_write_and_edit_go_through_the_journal(startproject: Path, tmp_path: Path) -> None:
    before, dirs_before = snapshot(startproject), folders(startproject)
    ctx, _, write, edit = tools_for(startproject, tmp_path)

    assert write.invoke({"path": "mysite/celery.py", "content": "app = None\n"}).startswith(
        "Created mysite/celery.py"
    )
    assert write.invoke({"path": "pkg/deep/new.py", "content": "x = 1\n"}).startswith(
        "Created pkg/deep/new.py"
    )
    same = (startproject / "manage.py").read_text()
    assert "unchanged" in write.invoke({"path": "manage.py", "content": same})
    assert write.invoke({"path": "manage.py", "content": same + "# end\n"}).startswith("Overwrote manage.py")
    result = edit.invoke(
        {"path": "mysite/settings.py", "old_string": "DEBUG = True", "new_string": "DEBUG = False"}
    )
    assert result == "Edited mysite/settings.py: replaced 1 occurrence."
    assert "DEBUG = False" in (startproject / "mysite" / "settings.py").read_text()

    journaled = {entry.path for entry in ctx.journal.index.entries}
    assert journaled == {"mysite/celery.py", "pkg/deep/new.py", "manage.py", "mysite/settings.py"}
    ctx.journal.rollback()
    assert snapshot(startproject) == before
    assert folders(startproject) == dirs_before


def test_edit_refusals_say_what_to_do(startproject: Path, tmp_path: Path) -> None:
    _, _, write, edit = tools_for(startproject, tmp_path)
    write.invoke({"path": "twice.py", "content": "a = 1\nb = 1\n"})
    original = (startproject / "twice.py").read_bytes()

    ambiguous = edit.invoke({"path": "twice.py", "old_string": " = 1", "new_string": " = 2"})
    assert ambiguous.startswith("Error:") and "occurs 2 times" in ambiguous and "replace_all" in ambiguous
    absent = edit.invoke({"path": "twice.py", "old_string": "c = 1", "new_string": "c = 2"})
    assert absent.startswith("Error:") and "not found" in absent
    same = edit.invoke({"path": "twice.py", "old_string": "a = 1", "new_string": "a = 1"})
    assert same.startswith("Error:") and "same" in same
    assert edit.invoke({"path": "twice.py", "old_string": "", "new_string": "x"}).startswith("Error:")
    assert (startproject / "twice.py").read_bytes() == original

    replaced = edit.invoke(
        {"path": "twice.py", "old_string": " = 1", "new_string": " = 2", "replace_all": True}
    )
    assert "replaced 2 occurrences" in replaced
    assert (startproject / "twice.py").read_text() == "a = 2\nb = 2\n"


def test_edit_keeps_crlf_line_endings(startproject: Path, tmp_path: Path) -> None:
    (startproject / "dos.py").write_bytes(b"a = 1\r\nb = 2\r\n")
    _, _, _, edit = tools_for(startproject, tmp_path)
    edit.invoke({"path": "dos.py", "old_string": "b = 2", "new_string": "b = 3"})
    assert (startproject / "dos.py").read_bytes() == b"a = 1\r\nb = 3\r\n"


@pytest.mark.parametrize("escape", ["dotdot", "absolute", "symlink"])
@pytest.mark.parametrize("tool_name", ["Read", "Write", "Edit"])
def test_paths_outside_the_project_are_refused(
    startproject: Path, tmp_path: Path, escape: str, tool_name: str
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret = 1\n")
    (startproject / "link").symlink_to(tmp_path)
    path = {"dotdot": "../outside.txt", "absolute": str(outside), "symlink": "link/outside.txt"}[escape]
    ctx = make_ctx(startproject, tmp_path)
    tool = {t.name: t for t in files.build(ctx)}[tool_name]
    args = {
        "Read": {"path": path},
        "Write": {"path": path, "content": "pwned"},
        "Edit": {"path": path, "old_string": "secret = 1", "new_string": "pwned"},
    }[tool_name]
    result = tool.invoke(args)
    assert result.startswith("Error:") and "outside the project root" in result
    assert outside.read_text() == "secret = 1\n"
    assert ctx.journal.index.entries == []
