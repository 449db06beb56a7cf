"""Kill tests in the suite: SIGKILL a real `run` in discovery, implementation and verification, then recover.

A fast subset of the points `django-integrator eval reliability` runs (all of them, ≥ 20, spread over a
reference run's progress lines): here four points found by the text of the run's own progress lines, each
target (the process alone, its whole group) and each recovery (`resume`, `undo`) twice, so no reference run
is needed. After each kill: no process of the project survives, `runs` still lists the run, and `resume`
passes every gate leaving exactly the files an uninterrupted run changes, or `undo` restores every file and
folder byte for byte (content and mode); no temp folder is left. The run has the agent's model key in its
environment (it runs offline): no project process it starts may hold it, and no record may contain it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.evals.kill_points import WORKER_LINE, KillPoint, kill_at
from tests.tool_support import CHANGED_BY_A_RUN

pytestmark = [pytest.mark.live, pytest.mark.kills]

POINTS = {
    "discovery-process-undo": KillPoint(
        phase="discovery", marker="✓ Read mysite/settings.py", target="process", recovery="undo"
    ),
    "implementation-group-resume": KillPoint(
        phase="implementation", marker="/celery:add-backend", target="group", recovery="resume"
    ),
    "verification-worker-process-resume": KillPoint(
        phase="verification", marker=WORKER_LINE, delay_s=1.0, target="process", recovery="resume"
    ),
    "verification-worker-group-undo": KillPoint(
        phase="verification", marker=WORKER_LINE, delay_s=2.0, target="group", recovery="undo"
    ),
}


@pytest.mark.parametrize("name", list(POINTS))
def test_a_killed_run_is_recovered(name: str, startproject_template: Path, tmp_path: Path) -> None:
    outcome = kill_at(startproject_template, tmp_path, name, POINTS[name], CHANGED_BY_A_RUN)
    assert outcome.survived, outcome.detail
    assert (outcome.processes_left, outcome.bytes_lost, outcome.temp_left, outcome.secrets_written) == (
        0,
        0,
        False,
        0,
    )
