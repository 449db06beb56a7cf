"""Kill tests: SIGKILL a real `django-integrator run` at points chosen from its own progress output.

A reference run on a startproject fixture prints its progress lines (phases, tool calls, gates); the kill
points are spread evenly over them, so discovery, implementation and verification are all hit. For each
point a fresh copy of the fixture is integrated by a `run` subprocess that is SIGKILLed — the process
alone, or its whole process group — right after it prints that line. Then: no process started for the
project survives (workers and shells die with the run, tools.lifetime), the state folder still lists the
run (`runs`), and the run is recovered — `resume RUN_ID` must end with every gate passed, or `undo` must
put back every file byte for byte (content and mode) and remove what the run created. The run's TMPDIR is
private to the point, so a temp folder left behind is seen.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from agent.demo import make_sample_project

CLI = [sys.executable, "-m", "agent.cli"]
RUN_TIMEOUT_S = 180.0
Target = Literal["process", "group"]
Recovery = Literal["resume", "undo"]


class KillOutcome(BaseModel):
    point: str
    target: Target
    recovery: Recovery
    survived: bool
    processes_left: int
    bytes_lost: int
    temp_left: bool
    detail: str


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under root with its bytes and mode (what undo must restore)."""
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mode)
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def bytes_lost(before: dict[str, tuple[bytes, int]], after: dict[str, tuple[bytes, int]]) -> int:
    """Bytes of the original files that are missing or different, plus bytes of files the run left."""
    lost = sum(len(data) for path, (data, mode) in before.items() if after.get(path) != (data, mode))
    return lost + sum(len(after[path][0]) for path in after.keys() - before.keys())


def processes_touching(folder: Path) -> list[int]:
    """Live processes whose command line or working directory lies in `folder` (workers, shells, probes)."""
    found = []
    needle = str(folder)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
            state = (entry / "stat").read_text().split()[2]
        except OSError:
            continue
        if state != "Z" and (needle in cmdline or cwd.startswith(needle)):
            found.append(int(entry.name))
    return found


def _env(home: Path, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    return env | {"DJANGO_INTEGRATOR_HOME": str(home), "TMPDIR": str(tmp), "PYTHONUNBUFFERED": "1"}


def _run_command(project: Path) -> list[str]:
    return [*CLI, "run", str(project), "--yes", "--no-network", "--python", sys.executable]


def progress_lines(template: Path, work: Path) -> list[str]:
    """The progress lines of one whole run (the reference the kill points are chosen from)."""
    project, home, tmp = work / "reference", work / "reference-state", work / "reference-tmp"
    shutil.copytree(template, project, symlinks=True)
    tmp.mkdir()
    done = subprocess.run(
        _run_command(project), env=_env(home, tmp), capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    if done.returncode != 0:
        raise RuntimeError(f"the reference run failed (exit {done.returncode}): {done.stdout[-2000:]}")
    return [line for line in done.stdout.splitlines() if line.strip()]


def kill_at(
    template: Path, work: Path, index: int, line: str, target: Target, recovery: Recovery
) -> KillOutcome:
    """One kill point: run until `line` (the index-th progress line) is printed, SIGKILL, recover, check."""
    name = f"point-{index:03d}-{target}"
    project, home, tmp = work / name, work / f"{name}-state", work / f"{name}-tmp"
    shutil.copytree(template, project, symlinks=True)
    tmp.mkdir()
    before = tree(project)
    process = subprocess.Popen(
        _run_command(project),
        env=_env(home, tmp),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    seen = 0
    for output in process.stdout:
        if output.strip():
            seen += 1
        if seen > index:
            break
    if target == "group":
        os.killpg(process.pid, signal.SIGKILL)
    else:
        process.kill()
    process.wait()
    deadline = time.monotonic() + 10
    while processes_touching(project) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = processes_touching(project)
    for pid in left:  # never leave them running for the next point; they are counted already
        os.kill(pid, signal.SIGKILL)
    env = _env(home, tmp)
    listed = subprocess.run([*CLI, "runs", str(project)], env=env, capture_output=True, text=True)
    runs = [row.split()[0] for row in listed.stdout.splitlines() if row and not row.startswith("No runs")]
    problems = [] if listed.returncode == 0 else [f"`runs` failed: {listed.stderr.strip()}"]
    if recovery == "resume" and runs:
        done = subprocess.run(
            [*CLI, "resume", runs[-1]], env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
        )
        if done.returncode != 0:
            problems.append(f"resume exited {done.returncode}: {done.stdout.strip().splitlines()[-1:]}")
        lost = 0
    else:
        if runs:
            undone = subprocess.run([*CLI, "undo", str(project)], env=env, capture_output=True, text=True)
            if undone.returncode != 0:
                problems.append(f"undo exited {undone.returncode}: {undone.stderr.strip()}")
        lost = bytes_lost(before, tree(project))
        if lost:
            problems.append(f"{lost} bytes differ from before the run")
    temp_left = any(tmp.iterdir())
    if temp_left:
        problems.append(f"temp left: {', '.join(p.name for p in tmp.iterdir())}")
    if left:
        problems.append(f"{len(left)} process(es) survived the kill")
    return KillOutcome(
        point=f"after line {index}: {line.strip()[:80]}",
        target=target,
        recovery=recovery,
        survived=not problems,
        processes_left=len(left),
        bytes_lost=lost,
        temp_left=temp_left,
        detail="; ".join(problems) or "recovered",
    )


def choose_points(lines: list[str], count: int) -> list[int]:
    """`count` line indexes spread evenly from the first progress line to the last but one."""
    last = max(len(lines) - 2, 0)
    return sorted({round(i * last / max(count - 1, 1)) for i in range(count)})


def run_kill_points(work_dir: Path, limit: int | None = None) -> list[KillOutcome]:
    """Kill a run at `limit` points (default 24), alternating the target and the recovery."""
    work_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="djint-kills-", dir=work_dir))
    try:
        template = make_sample_project(work / "template" / "mysite")
        lines = progress_lines(template, work)
        outcomes = []
        for n, index in enumerate(choose_points(lines, limit or 24)):
            target: Target = "process" if n % 2 == 0 else "group"
            recovery: Recovery = "undo" if n % 4 < 2 else "resume"
            outcomes.append(kill_at(template, work, index, lines[index], target, recovery))
        return outcomes
    finally:
        shutil.rmtree(work, ignore_errors=True)
