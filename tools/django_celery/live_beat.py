"""Live proof that periodic tasks work: beat with the DatabaseScheduler sends a PeriodicTask, the worker runs it.

Runs while the verification worker is still up (live.py calls it after the round trip). A one-off
PeriodicTask for a project task, every second, routed to the verification queue, is written to the
database beat reads (the temp copy for SQLite); `celery -A <pkg> beat -S django` is started with the
overlay, its log must show "Sending due task", and the worker's log the success of that task (an id other than
the round trip's: only beat sends to the private queue).
Beat is then stopped (its whole process group), and every django-celery-beat row that verification
created — ours and the default entries beat installs — is deleted again. The pid and schedule files
go to the verification temp folder, never into the project.

The time settings beat depends on are checked on the way: CELERY_TIMEZONE must equal TIME_ZONE, and a
project with USE_TZ = False needs DJANGO_CELERY_BEAT_TZ_AWARE = False.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tools.django_celery.facts import ProjectFacts
from tools.django_celery.live_overlay import VerificationOverlay
from tools.django_celery.live_worker import CeleryProcess, LiveProcessError
from tools.django_celery.project_env import base_dir_of, run_json_probe

PROBE = Path(__file__).resolve().parent / "probes" / "beat_client.py"
SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The worker's success line for a task id other than the round trip's: the private queue has no other
# sender than beat. Beat's own "sent. id->" line is DEBUG, which a project's LOGGING often drops.
BEAT_TASK_SUCCEEDED = r"Task {task}\[(?!{round_trip_id}\])(?P<task_id>[\w-]+)\] succeeded"


class BeatOutcome(BaseModel):
    """What the beat check saw; `passed` with `evidence` become part of checklist item 10."""

    passed: bool
    evidence: str
    task: str | None = None
    task_id: str | None = None
    first_send_s: float | None = None  # from beat's start to its "Sending due task" line
    log_tail: str = ""
    leftover_pids: list[int] = []
    shutdown_sent: bool = False  # the cleanup probe told the worker to stop


def beat_command(interpreter: str, package: str, folder: Path) -> list[str]:
    """`celery beat` with the database scheduler; pid and schedule files in the verification folder."""
    return [
        interpreter, "-m", "celery", "-A", package, "beat", "-l", "debug", "-S", SCHEDULER,
        "--pidfile", str(folder / "beat.pid"), "-s", str(folder / "celerybeat-schedule"),
    ]  # fmt: skip


def run_beat_probe(
    facts: ProjectFacts, overlay: VerificationOverlay, *args: str, timeout: float
) -> dict[str, Any]:
    argv = [facts.interpreter, str(PROBE), *args, "--app", facts.celery_target]
    return run_json_probe(
        argv, cwd=base_dir_of(facts), env=overlay.env, timeout=timeout, what=f"beat {args[0]} probe"
    )


def verify_beat(
    facts: ProjectFacts,
    overlay: VerificationOverlay,
    worker: CeleryProcess,
    task: str,
    task_args: list[Any],
    round_trip_id: str | None,
    node: str | None,
    timeout: float,
) -> BeatOutcome:
    """Prove a PeriodicTask fires through beat and the worker runs it; always cleans up after itself."""
    deadline = time.monotonic() + timeout

    def remaining() -> float:
        return max(deadline - time.monotonic(), 1.0)

    name = f"{overlay.queue}-beat"
    state = run_beat_probe(
        facts, overlay, "schedule", "--name", name, "--task", task, "--args-json", json.dumps(task_args),
        "--queue", overlay.queue, timeout=remaining(),
    )  # fmt: skip
    if not state.get("ok"):
        return BeatOutcome(passed=False, evidence=f"beat not started: {state.get('error')}", task=task)
    problems: list[str] = list(state["time"]["problems"])
    beat = CeleryProcess(
        beat_command(facts.interpreter, facts.celery_target, overlay.folder),
        base_dir_of(facts),
        overlay.env,
    )
    task_id, first_send, error = None, None, None
    started = time.monotonic()
    try:
        beat.start()
        beat.wait_for(
            re.compile(rf"Sending due task {re.escape(name)} \({re.escape(task)}\)"),
            remaining(),
            "its first sending of the PeriodicTask",
        )
        first_send = round(time.monotonic() - started, 1)
        succeeded = BEAT_TASK_SUCCEEDED.format(
            task=re.escape(task), round_trip_id=re.escape(round_trip_id or "")
        )
        task_id = worker.wait_for(re.compile(succeeded), remaining(), "the success of the task beat sent")[
            "task_id"
        ]
    except LiveProcessError as exc:
        error = str(exc)
    finally:
        leftover = beat.stop(grace=5.0)
    cleanup = run_beat_probe(
        facts, overlay, "cleanup", "--state", json.dumps(state), *(["--task-id", task_id] if task_id else []),
        *(["--node", node] if node else []), timeout=remaining(),
    )  # fmt: skip
    if error:
        problems.append(f"{error}" + (" (the worker did not run it)" if task_id else " (beat log below)"))
    if leftover:
        problems.append(f"beat processes {leftover} survived SIGKILL")
    if not cleanup.get("ok"):
        problems.append(f"cleaning the beat tables failed: {cleanup.get('error')}")
    time_settings = state["time"]
    settings_text = (
        f"TIME_ZONE {time_settings['TIME_ZONE']}, USE_TZ {time_settings['USE_TZ']}, "
        f"CELERY_TIMEZONE {time_settings['celery_timezone']}"
    )
    if problems:
        evidence = (
            f"beat ({SCHEDULER}): "
            + "; ".join(problems)
            + f" ({settings_text}). Beat log tail:\n{beat.tail()}"
        )
    else:
        evidence = (
            f"beat ({SCHEDULER}) sent PeriodicTask {name!r} ({task}, every 1 s, one-off) {first_send} s after "
            f"start, the worker ran it ({task_id} succeeded); {settings_text}; beat stopped by "
            f"{beat.stopped_by}, its rows removed again"
        )
    return BeatOutcome(
        passed=not problems,
        evidence=evidence,
        task=task,
        task_id=task_id,
        first_send_s=first_send,
        log_tail=beat.tail(),
        leftover_pids=leftover,
        shutdown_sent=bool(cleanup.get("shutdown_sent")),
    )
