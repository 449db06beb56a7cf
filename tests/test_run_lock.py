"""One run at a time per project: a second run is refused by name, a dead run's lock is taken over.

(The CLI refusal while another live process holds the lock is the corpus case `project_locked`.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli import main
from agent.run_lock import ProjectLocked, RunLock, lock_path


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped): what a SIGKILLed run leaves in its lock."""
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    return finished.pid


def write_lock(home: Path, project: Path, pid: int, run_id: str) -> Path:
    path = lock_path(home, project)
    path.parent.mkdir(parents=True, exist_ok=True)
    holder = {"pid": pid, "run_id": run_id, "project": str(project.resolve()), "started_at": 1767225600.0}
    path.write_text(json.dumps(holder))
    return path


def test_a_second_run_on_the_same_project_is_refused_by_name(tmp_path: Path) -> None:
    project = tmp_path / "mysite"
    project.mkdir()
    first = RunLock.acquire(tmp_path / "state", project, "run-one")
    with pytest.raises(ProjectLocked) as refused:
        RunLock.acquire(tmp_path / "state", project, "run-two")
    message = str(refused.value)
    assert "being integrated by run run-one" in message and f"pid {os.getpid()}" in message
    assert "only one run at a time" in message and f"kill {os.getpid()}" in message
    first.release()
    RunLock.acquire(tmp_path / "state", project, "run-two").release()  # free again once released
    assert not lock_path(tmp_path / "state", project).exists()


def test_a_lock_whose_process_is_gone_is_taken_over(tmp_path: Path) -> None:
    project = tmp_path / "mysite"
    project.mkdir()
    path = write_lock(tmp_path / "state", project, dead_pid(), "run-killed")
    lock = RunLock.acquire(tmp_path / "state", project, "run-next")
    assert json.loads(path.read_text())["run_id"] == "run-next"
    assert json.loads(path.read_text())["pid"] == os.getpid()
    lock.release()


def test_a_half_written_lock_is_stale_and_release_never_removes_another_runs_lock(tmp_path: Path) -> None:
    project = tmp_path / "mysite"
    project.mkdir()
    path = lock_path(tmp_path / "state", project)
    path.parent.mkdir(parents=True)
    path.write_text('{"pid": 12')  # the run was killed while writing it
    old = RunLock.acquire(tmp_path / "state", project, "run-old")
    write_lock(tmp_path / "state", project, os.getpid(), "run-newer")  # taken over meanwhile
    old.release()
    assert json.loads(path.read_text())["run_id"] == "run-newer"


@pytest.mark.live
def test_the_cli_takes_over_a_stale_lock_and_releases_it(
    startproject: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run that was SIGKILLed left its lock: the next run goes past it (here to preflight, which refuses
    the unreachable broker) and leaves no lock behind."""
    home = Path(os.environ["DJANGO_INTEGRATOR_HOME"])
    path = write_lock(home, startproject, dead_pid(), "20260101-000000-dead00")
    code = main(["run", "--yes", "--no-network", str(startproject), "--broker", "redis://127.0.0.1:1/0"])
    err = capsys.readouterr().err
    assert code == 2 and "127.0.0.1:1" in err and "being integrated" not in err
    assert not path.exists()


@pytest.mark.live
def test_a_run_started_while_another_integrates_the_project_is_refused(
    startproject: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two real runs on one project: the second is refused by the first one's run id (exit 2, nothing
    changed by it), and the first goes on to pass."""
    command = [sys.executable, "-m", "agent.cli", "run", str(startproject), "--yes", "--no-network"]
    first = subprocess.Popen(
        [*command, "--python", sys.executable],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert first.stdout is not None
    header = ""
    for line in first.stdout:  # the lock is taken before the header names the run
        if " · run " in line:
            header = line
            break
    run_id = header.rsplit(" · run ", 1)[1].strip()
    code = main(["run", "--yes", "--no-network", str(startproject), "--python", sys.executable])
    err = capsys.readouterr().err
    rest = first.stdout.read()
    assert first.wait(timeout=180) == 0, rest[-2000:]
    assert code == 2 and f"being integrated by run {run_id} (pid {first.pid}" in err
    assert "11/11 checklist items passed" in rest
