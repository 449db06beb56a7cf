"""Bash on a real startproject: results, timeouts that leave no process, and undo of what commands change."""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tool_support import folders, make_ctx, snapshot, startproject_facts
from tools import shell


def live_processes_with(marker: str) -> list[int]:
    """PIDs of running (not zombie) processes whose command line contains `marker`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = next(
                line for line in (proc / "status").read_text().splitlines() if line.startswith("State:")
            )
        except (OSError, StopIteration):
            continue
        if marker in cmdline and "Z" not in state.split()[1]:
            found.append(int(proc.name))
    return found


def test_exit_code_stdout_stderr_and_environment(startproject: Path, tmp_path: Path) -> None:
    bash = shell.build(make_ctx(startproject, tmp_path))
    result = bash.invoke({"command": "pwd; echo oops >&2; echo $PYTHONDONTWRITEBYTECODE; exit 3"})
    assert result.splitlines()[0] == "Exit code: 3"
    assert f"stdout:\n{startproject.resolve()}\n1\n" in result
    assert "stderr:\noops\n" in result
    assert bash.invoke({"command": "true"}) == "Exit code: 0\nstdout:\n(empty)\nstderr:\n(empty)"


def test_python_on_path_is_the_projects_interpreter(startproject: Path, tmp_path: Path) -> None:
    bash = shell.build(make_ctx(startproject, tmp_path, facts=startproject_facts(startproject)))
    result = bash.invoke({"command": "python -c 'import sys; print(sys.prefix)'"})
    assert f"stdout:\n{sys.prefix}\n" in result


def test_timeout_kills_the_whole_process_group(startproject: Path, tmp_path: Path) -> None:
    marker = f"107.{secrets.randbelow(10**6)}"  # unique: other test runs on this machine may sleep too
    bash = shell.build(make_ctx(startproject, tmp_path))
    result = bash.invoke({"command": f"echo started; sleep {marker} & sleep {marker}", "timeout": 0.5})
    assert result.startswith("Timed out after 0.5s")
    assert "started" in result
    assert live_processes_with(f"sleep {marker}") == []


def test_background_processes_do_not_outlive_the_command(startproject: Path, tmp_path: Path) -> None:
    marker = f"108.{secrets.randbelow(10**6)}"
    bash = shell.build(make_ctx(startproject, tmp_path))
    result = bash.invoke({"command": f"sleep {marker} > /dev/null 2>&1 & echo left"})
    assert result.startswith("Exit code: 0") and "Stopped the background processes" in result
    assert live_processes_with(f"sleep {marker}") == []


def test_output_is_capped(startproject: Path, tmp_path: Path) -> None:
    bash = shell.build(make_ctx(startproject, tmp_path, output_limit=2000))
    result = bash.invoke({"command": "head -c 50000 /dev/zero | tr '\\0' x"})
    assert "more characters not shown" in result and len(result) < 1500


def test_created_files_are_undone_and_unbacked_changes_warned(startproject: Path, tmp_path: Path) -> None:
    before, dirs_before = snapshot(startproject), folders(startproject)
    ctx = make_ctx(startproject, tmp_path)
    bash = shell.build(ctx)
    ctx.journal.write_text(
        "mysite/urls.py", (startproject / "mysite" / "urls.py").read_text() + "# journaled\n"
    )

    result = bash.invoke(
        {
            "command": "mkdir -p made/deep && echo hi > made/deep/new.txt && echo top > top.txt"
            " && echo '# shell' >> mysite/urls.py && echo '# shell' >> mysite/wsgi.py && ln -s manage.py alias.py"
        }
    )
    assert "Warning: the command changed mysite/wsgi.py, which had no backup" in result
    assert "mysite/urls.py" not in result  # the journal already holds its original
    ctx.journal.rollback()
    after = snapshot(startproject)
    assert after.pop("mysite/wsgi.py").endswith(b"# shell\n")
    before.pop("mysite/wsgi.py")
    assert after == before and folders(startproject) == dirs_before
    assert (startproject / "manage.py").is_file()  # removing the created symlink left its target alone


def test_deleting_and_creating_a_virtualenv_are_reported(startproject: Path, tmp_path: Path) -> None:
    bash = shell.build(make_ctx(startproject, tmp_path))
    result = bash.invoke({"command": "rm polls/tests.py && mkdir env && touch env/pyvenv.cfg"})
    assert "Warning: the command deleted polls/tests.py" in result
    assert "Warning: the command created env/ (a virtualenv or cache folder)" in result


@pytest.mark.live
def test_migrate_creating_the_database_is_undone(startproject: Path, tmp_path: Path) -> None:
    before = snapshot(startproject)
    ctx = make_ctx(startproject, tmp_path, facts=startproject_facts(startproject))
    result = shell.build(ctx).invoke({"command": "python manage.py migrate"})
    assert result.startswith("Exit code: 0") and "Applying polls.0001_initial" in result
    assert "Warning" not in result
    assert (startproject / "db.sqlite3").is_file()
    ctx.journal.rollback()
    assert snapshot(startproject) == before


@pytest.mark.live
def test_migrate_changing_an_existing_database_is_undone(startproject: Path, tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "contenttypes"],
        cwd=startproject,
        check=True,
        capture_output=True,
        env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"},
    )
    before = snapshot(startproject)
    ctx = make_ctx(startproject, tmp_path, facts=startproject_facts(startproject))
    result = shell.build(ctx).invoke({"command": "python manage.py migrate"})
    assert "Applying auth.0001_initial" in result and "Warning" not in result
    assert (startproject / "db.sqlite3").read_bytes() != before["db.sqlite3"]
    ctx.journal.rollback()
    assert snapshot(startproject) == before
