"""Live verification: a real Celery worker against the integrated project, and a real task round trip.

Checklist items 7 (results/beat apps installed), 10 (worker starts) and 11 (autodiscovery across apps,
one task round-tripped into the result backend) are proven here by running processes, not by reading
code. Everything runs in the project's interpreter with the verification overlay (`live_overlay`), so
the user's project is left byte-identical: the broker lives in a temp folder unless a real one is given,
and a SQLite database is verified on a temp copy.

Order, chosen so failures are cheap and clear: overlay -> (the client session's preflight: settings,
INSTALLED_APPS, broker reachable, then the SQLite copy migrated in the same process | on the embedded
broker, the worker starting) in parallel -> worker until "ready." -> the same client session (inspect the
node, round trip) -> worker
stopped in `finally`, with proof that no process of its group is left. On the embedded broker the worker
is killed at once (its broker is a temp folder that is removed next, so nothing can be lost; Celery's own
warm shutdown spends 2.5 s in billiard's pool join); on a real broker it is told to shut down and allowed
to, so it removes its own queues and bindings from the user's broker.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agent.checklist import CheckResult, result
from tools.django_celery.backend_text import project_backend_description
from tools.django_celery.facts import Decisions, ProjectFacts
from tools.django_celery.live_beat import BeatOutcome, verify_beat
from tools.django_celery.live_overlay import BrokerChoiceError, VerificationOverlay, build_overlay, mask_url
from tools.django_celery.live_worker import CeleryProcess, LiveProcessError, ready_pattern, worker_command
from tools.django_celery.probe_session import ProbeSession
from tools.django_celery.project_env import base_dir_of, facts_env, run_manage
from tools.django_celery.task_modules import tasks_module_owners
from tools.scratch import scratch_dir

PROBE = Path(__file__).resolve().parent / "probes" / "verify_client.py"
RESULTS_APP = "django_celery_results"
BEAT_APP = "django_celery_beat"
SHUTDOWN_SETTLE_S = 5.0  # a worker told to shut down remotely takes about 1.5 s to exit


class RoundTrip(BaseModel):
    task: str
    task_id: str | None = None
    result: Any = None
    ms: float | None = None
    stored_in_backend: bool = False
    note: str | None = None


class LiveReport(BaseModel):
    checks: list[CheckResult]  # items 7 installed_apps, 10 worker_starts, 11 autodiscovery
    broker: str  # the URL used, password masked
    embedded_broker: bool
    node: str | None = None
    queue: str | None = None  # the private verification queue (removed from the broker afterwards)
    registered: list[str] = Field(default_factory=list)
    registered_by_app: dict[str, list[str]] = Field(default_factory=dict)
    roundtrip: RoundTrip | None = None
    beat: BeatOutcome | None = None  # when beat was chosen: a PeriodicTask fired through beat (item 10)
    worker_log_tail: str = ""
    leftover_pids: list[int] = Field(default_factory=list)  # processes of the worker alive after stop
    elapsed_s: dict[str, float] = Field(default_factory=dict)
    error: str | None = None  # why verification stopped early, when it did

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def check(self, key: str) -> CheckResult:
        return next(check for check in self.checks if check.key == key)


class StepTimer:
    """Seconds spent per verification step, for the report's breakdown."""

    def __init__(self) -> None:
        self.elapsed: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.elapsed[name] = round(time.monotonic() - started, 3)


def client_session(facts: ProjectFacts, overlay: VerificationOverlay) -> ProbeSession:
    """verify_client.py in the project's interpreter: preflight at once (then the SQLite copy migrated), the
    round trip when asked."""
    argv = [facts.interpreter, str(PROBE), "--app", facts.celery_target]
    if overlay.database_copy is not None:
        argv.append("--migrate")
    return ProbeSession(argv, base_dir_of(facts), overlay.env, "verification client")


def installed_apps_check(
    installed_apps: list[str] | None, decisions: Decisions, settings: str, backend: str
) -> CheckResult:
    """Item 7: the results app when results go to Django, the beat app when beat was chosen. `backend` names
    the result backend in use (backend_text: the project's own one when it was kept)."""
    if installed_apps is None:
        return result("installed_apps", False, f"INSTALLED_APPS could not be read: {settings} does not load")
    wanted = {
        RESULTS_APP: decisions.result_backend in ("django-db", "django-cache"),
        BEAT_APP: decisions.beat,
    }
    found = {
        app: next((entry for entry in installed_apps if entry == app or entry.startswith(app + ".")), None)
        for app in wanted
    }
    missing = [app for app, needed in wanted.items() if needed and not found[app]]
    parts = [
        f"{app}: {'present as ' + repr(found[app]) if found[app] else 'absent'}"
        f" ({'required' if needed else 'not required'})"
        for app, needed in wanted.items()
    ]
    evidence = (
        f"INSTALLED_APPS read from {settings} in the project's interpreter "
        f"({backend}, beat {'on' if decisions.beat else 'off'}): " + "; ".join(parts)
    )
    if missing:
        evidence += f". Add {', '.join(missing)} to INSTALLED_APPS and migrate."
    return result("installed_apps", not missing, evidence)


def preflight_problem(preflight: dict[str, Any], overlay: VerificationOverlay) -> str | None:
    """Why the worker must not be started, or None when the settings, app and broker are fine."""
    if not preflight.get("ok"):
        return preflight.get("error") or "the preflight probe failed"
    if overlay.embedded:
        options = preflight.get("transport_options") or {}
        if options.get("control_folder") != str(overlay.folder / "control"):
            return (
                "the project's Celery app ignores the CELERY_ settings namespace (the verification broker's "
                "options were not applied): celery.py needs "
                "app.config_from_object('django.conf:settings', namespace='CELERY')"
            )
    if preflight.get("always_eager"):
        return "task_always_eager is still on in the Celery app: tasks would never reach a worker"
    return preflight.get("broker_error") or preflight.get("backend_error")


def apps_with_tasks(facts: ProjectFacts, decisions: Decisions) -> list[str]:
    """Labels of local apps whose tasks module is Celery's now, or that were decided to get one (a tasks.py
    of another task queue registers nothing in Celery's worker and is not expected to)."""
    on_disk = [label for label, owner in tasks_module_owners(facts).items() if owner == "celery"]
    return on_disk + [label for label in decisions.task_apps if label not in on_disk]


def autodiscovery_check(expected: list[str], client: dict[str, Any], trip: RoundTrip | None) -> CheckResult:
    """Item 11: every app with tasks has one registered in the live worker, and one task round-tripped."""
    if "registered" not in client:  # the probe stopped before the worker answered `inspect registered`
        reason = client.get("error") or "the client probe gave no answer"
        return result("autodiscovery", False, f"worker {client.get('node')} not inspected: {reason}")
    by_app = client.get("by_app") or {}
    listing = "; ".join(f"{label}: {', '.join(by_app.get(label) or []) or 'none'}" for label in expected)
    problems = []
    if not expected:
        problems.append("no local app has a tasks.py, so there is nothing to discover")
    missing = [label for label in expected if not by_app.get(label)]
    if missing:
        problems.append(
            f"no task of {', '.join(missing)} is registered in the live worker: check that celery.py calls "
            "app.autodiscover_tasks() and that the app is in INSTALLED_APPS"
        )
    if trip is None:
        problems.append(f"round trip failed: {client.get('error', 'no result')}")
    else:
        problems += [trip.note] if trip.note else []
        if client.get("stores_results") and not trip.stored_in_backend:
            problems.append(f"the result of {trip.task} was not stored in the result backend")
    trip_text = (
        f"round trip {trip.task} -> {trip.result!r} in {trip.ms} ms"
        f"{', stored in the result backend' if trip.stored_in_backend else ''}"
        if trip
        else "no round trip"
    )
    evidence = f"registered in worker {client.get('node')}: {listing or 'no app'}; {trip_text}"
    if problems:
        evidence += ". Problems: " + "; ".join(problems)
    return result("autodiscovery", not problems, evidence)


SUCCEEDED = r"Task {name}\[{task_id}\] succeeded in (?P<seconds>[\d.]+)s: (?P<value>.*)"


def roundtrip_of(client: dict[str, Any], worker: CeleryProcess, timeout: float) -> RoundTrip | None:
    """The round trip the client made; with no result backend, its success is read from the worker log."""
    if not client.get("ok"):
        return None
    trip = RoundTrip(
        task=client["task"],
        task_id=client.get("task_id"),
        result=client.get("result"),
        ms=client.get("ms"),
        stored_in_backend=bool(client.get("stored_in_backend")),
        note=client.get("note"),
    )
    if not client.get("stores_results"):
        pattern = re.compile(
            SUCCEEDED.format(name=re.escape(trip.task), task_id=re.escape(trip.task_id or ""))
        )
        try:
            match = worker.wait_for(pattern, timeout, f"the success of task {trip.task_id}")
        except LiveProcessError as exc:
            client["error"] = f"the worker log shows no success of {trip.task}: {exc}"
            return None
        trip.result, trip.ms = match["value"], round(float(match["seconds"]) * 1000, 1)
    return trip


def failed_report(broker: str, embedded: bool, error: str, **fields: Any) -> LiveReport:
    """A report for a verification that stopped before the worker could prove anything."""
    checks = fields.pop("checks", [])
    checks += [
        result("worker_starts", False, f"worker not started: {error}"),
        result("autodiscovery", False, "not checked: no live worker"),
    ]
    return LiveReport(checks=checks, broker=broker, embedded_broker=embedded, error=error, **fields)


def verify_live(
    facts: ProjectFacts, decisions: Decisions, *, broker_url: str | None = None, timeout: float = 60
) -> LiveReport:
    """Prove items 7, 10 and 11 with a real worker; `broker_url` None = the embedded broker.

    The caller decides the broker (e.g. `decisions.broker_url` or the CELERY_BROKER_URL environment
    variable); this function never reads the agent's environment for it.
    """
    deadline = time.monotonic() + timeout

    def remaining() -> float:
        return max(deadline - time.monotonic(), 1.0)

    timer = StepTimer()
    with scratch_dir("verify") as folder:
        try:
            with timer.step("overlay"):
                overlay = build_overlay(facts, decisions, Path(folder), broker_url)
        except BrokerChoiceError as exc:
            return failed_report(mask_url(broker_url or ""), False, str(exc), elapsed_s=timer.elapsed)
        command = worker_command(facts.interpreter, facts.celery_target, overlay.node_prefix, overlay.queue)
        worker = CeleryProcess(command, base_dir_of(facts), overlay.env)
        client = client_session(facts, overlay)
        started_at = time.monotonic()
        try:
            client.start()
            if overlay.embedded:
                # Nothing to reach: the worker's start-up overlaps migrate and preflight, and is stopped
                # unused when they find a problem. A real broker is checked first, so an unreachable one
                # fails in a second without a worker.
                worker.start()
            with timer.step("preflight"):
                preflight, problem = prepare(facts, overlay, client, remaining())
            described = project_backend_description(facts, decisions.result_backend)
            item7 = installed_apps_check(
                preflight.get("installed_apps"), decisions, facts.settings_module, described
            )
            if problem:
                worker.stop(kill=True)
                masked = mask_url(overlay.broker_url)
                return failed_report(
                    masked, overlay.embedded, problem, checks=[item7], elapsed_s=timer.elapsed
                )
            return run_worker_and_client(
                facts, decisions, overlay, item7, timer, remaining, worker, started_at, client
            )
        finally:
            worker.stop(kill=True)  # a no-op when it was stopped already
            client.close()


def prepare(
    facts: ProjectFacts, overlay: VerificationOverlay, client: ProbeSession, timeout: float
) -> tuple[dict[str, Any], str | None]:
    """The client session's preflight, then (SQLite) its migration of the database copy: (preflight, problem).

    Every live step (the worker here, beat later) starts only when the problem is None.
    """
    preflight = client.answer(timeout)
    problem = preflight_problem(preflight, overlay)
    if preflight.get("ok") and overlay.database_copy is not None:
        migrated = client.answer(timeout)
        if not migrated.get("ok") and problem is None:
            problem = f"migrate on the verification copy of the database failed:\n{migrated.get('error', '')[-2000:]}"
    return preflight, problem


def run_worker_and_client(
    facts: ProjectFacts,
    decisions: Decisions,
    overlay: VerificationOverlay,
    item7: CheckResult,
    timer: StepTimer,
    remaining: Callable[[], float],
    worker: CeleryProcess,
    started_at: float,
    session: ProbeSession,
) -> LiveReport:
    """Wait for `worker` (started at `started_at`, or not yet when the broker is real), probe it through the
    client `session`, stop it."""
    command = worker.command
    node, started_in, error, client, trip, beat = None, 0.0, None, {}, None, None
    # A real broker's worker is asked to shut down (after beat, when beat needs it longer), so it removes its
    # own queues and bindings there; the embedded broker's is killed: all it could leave is in the temp folder.
    remote_stop = not overlay.embedded
    try:
        with timer.step("worker_start"):
            if not worker.started:
                started_at = time.monotonic()
                worker.start()
            node = worker.wait_for(ready_pattern(overlay.node_prefix), remaining(), "its ready line")["node"]
        started_in = time.monotonic() - started_at
        with timer.step("client"):
            request = {
                "node": node,
                "queue": overlay.queue,
                "apps": [f"{app.label}={app.module}" for app in facts.apps],
                "timeout": round(min(remaining(), 20)),
                "shutdown": remote_stop and not decisions.beat,
            }
            client = session.answer(remaining(), request)
            trip = roundtrip_of(client, worker, remaining())
        if decisions.beat and trip is not None:
            with timer.step("beat"):
                task_args = [1] if trip.task == "celery.accumulate" else []
                beat = verify_beat(
                    facts, overlay, worker, trip.task, task_args, trip.task_id,
                    node if remote_stop else None, min(remaining(), 30),
                )  # fmt: skip
    except LiveProcessError as exc:
        error = f"the worker {exc}"
    finally:
        with timer.step("stop"):
            asked_to_stop = client.get("shutdown_sent") or (beat is not None and beat.shutdown_sent)
            leftover = worker.stop(settle=SHUTDOWN_SETTLE_S if asked_to_stop else 0.0, kill=not remote_stop)
    tail = worker.tail()
    if leftover:
        error = (error + "; " if error else "") + f"worker processes {leftover} survived SIGKILL"
    stopped = f"stopped by {worker.stopped_by}"
    if asked_to_stop and worker.stopped_by.startswith("no signal"):
        stopped = "stopped by a remote shutdown command"
    elif not remote_stop:
        stopped += " to its process group (embedded broker: nothing of it outlives the temp folder)"
    if node and not leftover:
        item10 = result(
            "worker_starts",
            True,
            f"`python {' '.join(command[1:])}` became ready as {node} in {started_in:.1f} s "
            f"(broker {mask_url(overlay.broker_url)}); {stopped}, no process left",
        )
    else:
        item10 = result("worker_starts", False, f"{error}. Worker log tail:\n{tail}")
    if decisions.beat:
        item10 = with_beat(item10, beat)
    item11 = (
        autodiscovery_check(apps_with_tasks(facts, decisions), client | {"node": node}, trip)
        if node
        else result("autodiscovery", False, "not checked: the worker did not start")
    )
    return LiveReport(
        checks=[item7, item10, item11],
        broker=mask_url(overlay.broker_url),
        embedded_broker=overlay.embedded,
        node=node,
        queue=overlay.queue,
        registered=client.get("registered") or [],
        registered_by_app=client.get("by_app") or {},
        roundtrip=trip,
        beat=beat,
        worker_log_tail=tail,
        leftover_pids=leftover,
        elapsed_s=timer.elapsed,
        error=error,
    )


def with_beat(item10: CheckResult, beat: BeatOutcome | None) -> CheckResult:
    """Item 10 covers the processes of the integration: with beat chosen, beat must start and fire too."""
    if beat is None:
        return item10.model_copy(
            update={
                "passed": False,
                "evidence": item10.evidence + "; beat not checked: no task round-tripped",
            }
        )
    return item10.model_copy(
        update={"passed": item10.passed and beat.passed, "evidence": f"{item10.evidence}; {beat.evidence}"}
    )


def verify_django(facts: ProjectFacts, timeout: float = 120) -> CheckResult:
    """`manage.py check` with the project's own settings: the precondition for any live step."""
    try:
        done = run_manage(facts, "check", timeout=timeout, env=facts_env(facts))
    except subprocess.TimeoutExpired:
        passed, evidence = False, f"`manage.py check` did not finish within {timeout:.0f} s"
    else:
        output = (done.stdout + done.stderr).strip()
        passed = done.returncode == 0
        evidence = f"`manage.py check` ({facts.settings_module}) exited {done.returncode}: {output[-2000:]}"
    return CheckResult(
        key="django_check", number=0, title="manage.py check passes", passed=passed, evidence=evidence
    )
