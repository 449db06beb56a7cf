"""The floor: the bare verification commands a person would run by hand on an integrated project.

`manage.py check`, `manage.py migrate`, `celery -A <package> worker` started until it prints "ready.",
one process asking `inspect registered` and making one task round trip, then the worker stopped. Nothing
of the agent runs here: this is the time the commands themselves take, which the agent's whole integration
is compared against (evals/benchmark.py). The broker is the same embedded one the agent verifies on — our
filesystem transport in a temp folder — set by a settings module that imports the project's settings, as
the agent's overlay does, so both sides wait on the same thing.

The stop is the fastest clean one Celery offers, measured here on this broker (prefork, -c 1): a remote
`control shutdown` sent from the client the person already has open, waited for until the worker has
exited, about 2.6 s (the loop ends at once, then billiard's pool join sleeps 0.8 s + 1.0 s + 0.5 s in
its handler threads). Ctrl-C or SIGTERM takes 6.8 s (the filesystem transport's synchronous loop first
finishes its 2 s drain cycles), SIGQUIT's cold shutdown 5.8 s; a `celery control shutdown` typed in
another terminal adds that command's own start-up. Nothing faster is a clean stop a person would use.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tools.django_celery.live_overlay import (
    EMBEDDED_TRANSPORT,
    EMBEDDED_TRANSPORT_SOURCE,
    POLLING_INTERVAL_S,
)

FLOOR_SETTINGS = "djint_floor_settings"
STEPS = ("check", "migrate", "worker ready", "inspect", "round trip", "stop")

# One interpreter: inspect registered on the worker, one task sent and its result read back, then
# `control shutdown`, the fastest clean stop (see above).
CLIENT = """
import json, sys, time
import django
django.setup()
from {package}.celery import app
started = time.perf_counter()
registered = app.control.inspect(timeout=5.0, limit=1).registered() or {{}}
inspected = time.perf_counter()
result = app.send_task({task!r})
value = result.get(timeout=20, interval=0.05)
done = time.perf_counter()
app.control.shutdown(destination=list(registered))
print(json.dumps({{"registered": registered, "value": value,
                  "inspect": inspected - started, "round trip": done - inspected}}))
"""


def settings_source(settings_module: str, folder: Path) -> str:
    options = {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "staging_folder": str(folder / "staging"),
        "processed_folder": str(folder / "processed"),
        "store_processed": True,
        "control_folder": str(folder / "control"),
        "polling_interval": POLLING_INTERVAL_S,
    }
    return (
        f"from {settings_module} import *  # noqa: F403\n"
        'CELERY_BROKER_URL = "filesystem://"\n'
        f"CELERY_BROKER_TRANSPORT = {EMBEDDED_TRANSPORT!r}\n"
        f"CELERY_BROKER_TRANSPORT_OPTIONS = {options!r}\n"
    )


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_floor(project: Path, package: str, task: str, python: str, broker_folder: Path) -> dict:
    """Run the commands once on `project` (already integrated); return wall/CPU per step and in total.

    CPU is that of the children (this process only waits), counted when each has been reaped.
    """
    for name in ("queue", "staging", "processed", "control"):
        (broker_folder / name).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(EMBEDDED_TRANSPORT_SOURCE, broker_folder / EMBEDDED_TRANSPORT_SOURCE.name)
    (broker_folder / f"{FLOOR_SETTINGS}.py").write_text(settings_source(f"{package}.settings", broker_folder))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    env |= {
        "DJANGO_SETTINGS_MODULE": FLOOR_SETTINGS,
        "PYTHONPATH": os.pathsep.join([str(broker_folder), str(project)]),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    steps: dict[str, float] = {}
    cpu_before = children_cpu()
    started = time.perf_counter()

    def timed(name: str, args: list[str]) -> str:
        begun = time.perf_counter()
        done = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"floor step {name} failed: {done.stderr[-2000:]}")
        steps[name] = time.perf_counter() - begun
        return done.stdout

    timed("check", [python, "manage.py", "check"])
    timed("migrate", [python, "manage.py", "migrate", "--noinput"])
    begun = time.perf_counter()
    worker = subprocess.Popen(
        [
            python,
            "-m",
            "celery",
            "-A",
            package,
            "worker",
            "-l",
            "info",
            "-c",
            "1",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert worker.stdout is not None
        for line in worker.stdout:
            if re.search(r"@\S+ ready\.", line):
                break
        else:
            raise RuntimeError("the floor's worker exited before it was ready")
        steps["worker ready"] = time.perf_counter() - begun
        client_started = time.perf_counter()
        answer = json.loads(
            timed("client", [python, "-c", CLIENT.format(package=package, task=task)]).splitlines()[-1]
        )
        client_wall = time.perf_counter() - client_started
        del steps["client"]
        # The client's own start-up (interpreter, django.setup) is split between its two questions.
        startup = client_wall - answer["inspect"] - answer["round trip"]
        steps["inspect"] = answer["inspect"] + startup
        steps["round trip"] = answer["round trip"]
        if not any(task in tasks for tasks in answer["registered"].values()):
            raise RuntimeError(f"the floor's worker did not register {task}: {answer['registered']}")
    finally:
        begun = time.perf_counter()
        try:
            worker.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.communicate(timeout=30)
        steps["stop"] = time.perf_counter() - begun
    return {
        "wall": time.perf_counter() - started,
        "cpu": children_cpu() - cpu_before,
        "steps": steps,
    }
