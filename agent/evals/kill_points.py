"""Kill tests: SIGKILL a real `django-integrator run` at points chosen from its own progress output.

A reference run on a startproject fixture prints its progress lines (phases, tool calls, gates); the kill
points are spread over the lines of its five phases, so discovery, implementation and verification are all
hit, and two more land while the verification worker runs (a delay after "starting a Celery worker"). For
each point a fresh copy of the fixture is integrated by a `run` subprocess that is SIGKILLed — the process
alone, or its whole process group — once it has printed that line. Then: no process started for the
project survives (workers and shells die with the run, tools.lifetime), the state folder still lists the
run (`runs`), and the run is recovered — `resume RUN_ID` must end with every gate passed and leave exactly
the files an uninterrupted run changes, or `undo` must put back every file and folder byte for byte (content
and mode) and remove what the run created. The run's TMPDIR is private to the point, so a temp folder left
behind is seen.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from agent.demo import make_sample_project
from agent.evals.bad_input_builders import MODEL_KEY_CANARY
from agent.evals.leftovers import canaries_in, processes_holding, processes_touching
from agent.evals.manifest import Manifest, bytes_lost, differences, manifest

CLI = [sys.executable, "-m", "agent.cli"]
RUN_TIMEOUT_S = 180.0
WORKER_LINE = "starting a Celery worker"
REPORT_LINE = "Self-verification checklist"
Target = Literal["process", "group"]
Recovery = Literal["resume", "undo"]


class KillPoint(BaseModel):
    """Kill once the run prints its `index`-th progress line (or a line containing `marker`), `delay_s` later."""

    phase: str
    index: int | None = None
    marker: str | None = None
    delay_s: float = 0.0
    target: Target
    recovery: Recovery

    def reached(self, number: int, line: str) -> bool:
        return number == self.index if self.marker is None else self.marker in line


class KillOutcome(BaseModel):
    point: str
    phase: str
    target: Target
    recovery: Recovery
    survived: bool
    processes_left: int
    bytes_lost: int
    temp_left: bool
    secrets_written: int  # places the planted model key was found: state folder, project, project processes
    detail: str


def _env(home: Path, tmp: Path) -> dict[str, str]:
    noise = ("OPENAI_", "DJANGO_INTEGRATOR_", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(noise)}
    # The agent's own model key is planted (the run is offline): no record and no project process may hold it.
    return env | {
        "DJANGO_INTEGRATOR_HOME": str(home),
        "TMPDIR": str(tmp),
        "PYTHONUNBUFFERED": "1",
        "OPENAI_API_KEY": MODEL_KEY_CANARY,
    }


def _run_command(project: Path) -> list[str]:
    return [
        *CLI,
        "run",
        str(project),
        "--yes",
        "--no-network",
        "--model",
        "offline",
        "--python",
        sys.executable,
    ]


def progress_lines(template: Path, work: Path) -> tuple[list[str], set[str]]:
    """The non-empty progress lines of one whole run, and the paths that run changed (what a resumed run
    must end with)."""
    project, home, tmp = work / "reference", work / "reference-state", work / "reference-tmp"
    shutil.copytree(template, project, symlinks=True)
    tmp.mkdir()
    before = manifest(project)
    done = subprocess.run(
        _run_command(project), env=_env(home, tmp), capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    if done.returncode != 0:
        raise RuntimeError(f"the reference run failed (exit {done.returncode}): {done.stdout[-2000:]}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return lines, changed_paths(before, manifest(project))


def changed_paths(before: Manifest, after: Manifest) -> set[str]:
    return {line.split(" ", 1)[1].split(":")[0] for line in differences(before, after)}


def phase_of(lines: list[str], index: int) -> str:
    """The phase whose header (`▸ 4/5 implementation — …`) last precedes line `index`."""
    phase = "start"
    for line in lines[: index + 1]:
        if line.lstrip().startswith("▸ "):
            phase = line.split()[2]
        elif line.startswith(REPORT_LINE):
            phase = "report"
    return phase


def _kill_when_reached(
    process: subprocess.Popen[str], point: KillPoint, project: Path
) -> tuple[bool, list[int]]:
    """Read the run's output until the point is reached, wait its delay, SIGKILL (process or group).
    Returns whether the point's line was printed, and the project processes that held the model key."""
    assert process.stdout is not None
    seen, reached = -1, False
    for output in process.stdout:
        if output.strip():
            seen += 1
            if point.reached(seen, output):
                reached = True
                break
    if point.delay_s:
        threading.Event().wait(point.delay_s)
    holding = [
        pid for pid in processes_holding(project, MODEL_KEY_CANARY) if pid != process.pid
    ]  # not the run
    if point.target == "group":
        os.killpg(process.pid, signal.SIGKILL)
    else:
        process.kill()
    process.wait()
    return reached, holding


def _survivors(project: Path) -> list[int]:
    """Processes of the project still alive a few seconds after the kill (PDEATHSIG needs a moment)."""
    for _ in range(50):
        if not processes_touching(project):
            return []
        threading.Event().wait(0.2)
    left = processes_touching(project)
    for pid in left:  # never leave them running for the next point; they are counted already
        os.kill(pid, signal.SIGKILL)
    return left


def kill_at(template: Path, work: Path, name: str, point: KillPoint, expected: set[str]) -> KillOutcome:
    """One kill point on a fresh copy: run, kill, check survivors, `runs`, then resume or undo, and check."""
    project, home, tmp = work / name, work / f"{name}-state", work / f"{name}-tmp"
    shutil.copytree(template, project, symlinks=True)
    tmp.mkdir()
    before = manifest(project)
    env = _env(home, tmp)
    process = subprocess.Popen(
        _run_command(project),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    reached, holding = _kill_when_reached(process, point, project)
    left = _survivors(project)
    problems = [] if reached else ["the run ended before printing the point's line"]
    if holding:
        problems.append(f"{len(holding)} project process(es) got the agent's model key")
    problems += [f"{len(left)} process(es) survived the kill"] if left else []
    listed = subprocess.run([*CLI, "runs", str(project)], env=env, capture_output=True, text=True)
    runs = [row.split()[0] for row in listed.stdout.splitlines() if row and not row.startswith("No runs")]
    if listed.returncode != 0:
        problems.append(f"`runs` failed: {listed.stderr.strip()[-300:]}")
    lost = 0
    if point.recovery == "resume" and runs:
        problems += _resume(runs[-1], env, project, before, expected)
    else:
        if runs:
            undone = subprocess.run([*CLI, "undo", str(project)], env=env, capture_output=True, text=True)
            if undone.returncode != 0:
                problems.append(f"undo exited {undone.returncode}: {undone.stderr.strip()[-300:]}")
        after = manifest(project)
        lost = bytes_lost(before, after)
        if differences(before, after):
            problems.append(f"{lost} bytes lost; not as before the run: {differences(before, after)[:4]}")
    temp_left = sorted(p.name for p in tmp.iterdir())
    if temp_left:
        problems.append(f"temp left: {', '.join(temp_left[:3])}")
    written = canaries_in("", home, (MODEL_KEY_CANARY,)) + canaries_in("", project, (MODEL_KEY_CANARY,))
    if written:
        problems.append(f"the model key was written: {written[:3]}")
    where = point.marker or f"line {point.index}"
    return KillOutcome(
        point=f"{where}{f' +{point.delay_s:g} s' if point.delay_s else ''}",
        phase=point.phase,
        target=point.target,
        recovery=point.recovery,
        survived=not problems,
        processes_left=len(left),
        bytes_lost=lost,
        temp_left=bool(temp_left),
        secrets_written=len(written) + len(holding),
        detail="; ".join(problems) or "recovered",
    )


def _resume(
    run_id: str, env: dict[str, str], project: Path, before: Manifest, expected: set[str]
) -> list[str]:
    """`resume` must pass every gate and leave exactly the paths an uninterrupted run changes."""
    done = subprocess.run(
        [*CLI, "resume", run_id], env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    problems = []
    if done.returncode != 0 or "11/11 checklist items passed" not in done.stdout:
        tail = (done.stdout + done.stderr).strip().splitlines()[-2:]
        problems.append(f"resume exited {done.returncode}: {tail}")
    changed = changed_paths(before, manifest(project))
    if changed != expected:
        problems.append(
            f"after resume the project differs from an uninterrupted run: extra {sorted(changed - expected)}, "
            f"missing {sorted(expected - changed)}"
        )
    return problems


def report_points(lines: list[str], count: int) -> list[KillPoint]:
    """`count` points: all but two spread evenly over the phases' lines, two while the worker runs."""
    last = next((i for i, line in enumerate(lines) if line.startswith(REPORT_LINE)), len(lines)) - 1
    spread = max(count - 2, 1)
    indexes = sorted({round(2 + i * (last - 2) / max(spread - 1, 1)) for i in range(spread)})
    worker = next((i for i, line in enumerate(lines) if WORKER_LINE in line), last)
    timed = [(worker, 1.0), (worker, 2.5)]
    points = []
    for n, (index, delay) in enumerate([(i, 0.0) for i in indexes] + timed):
        points.append(
            KillPoint(
                phase=phase_of(lines, index),
                index=index,
                marker=WORKER_LINE if delay else None,
                delay_s=delay,
                target="process" if n % 2 == 0 else "group",
                recovery="undo" if n % 4 < 2 else "resume",
            )
        )
    return points


def run_kill_points(work_dir: Path, count: int = 24) -> list[KillOutcome]:
    """Kill a run at `count` points (≥ 20 for the report); each point in its own copy of the sample project."""
    work_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="djint-kills-", dir=work_dir))
    try:
        template = make_sample_project(work / "template" / "mysite")
        lines, expected = progress_lines(template, work)
        return [
            kill_at(template, work, f"point-{n:02d}", point, expected)
            for n, point in enumerate(report_points(lines, count))
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)
