"""Run one case of the bad-input corpus through the real CLI and check what a trustworthy tool must do.

For each case: the exit code is the one chosen for it, the output has no traceback and contains the phrases
that name the problem and the fix, the project's manifest (content and mode of every entry) is unchanged,
no process started for the project survives, the run's private TMPDIR is empty, and neither a planted
password nor the agent's model key appears in the output or the state folder (journal backups aside: they
are copies of the user's own files, kept so that undo can restore them).
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from pydantic import BaseModel

from agent.evals.bad_input_builders import Invocation
from agent.evals.bad_inputs import CANARIES, BadInput
from agent.evals.leftovers import canaries_in, command_line, processes_touching
from agent.evals.manifest import bytes_lost, differences, manifest

CLI = [sys.executable, "-m", "agent.cli"]
CASE_TIMEOUT_S = 120.0
# Variables of the caller that would change what a case tests (a model, a broker, a settings module).
_INHERITED_NOISE = ("OPENAI_", "DJANGO_INTEGRATOR_", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")


class CaseOutcome(BaseModel):
    name: str
    behaviour: str
    handled: bool
    exit_code: int | None
    message: str  # the error the user sees (or what happened, for the cases that are not errors)
    changed: list[str]  # manifest differences left in the project
    bytes_lost: int  # original bytes missing or changed, plus bytes left behind (runs that did not pass)
    processes_left: int
    secrets_written: int
    seconds: float
    problems: list[str]


def case_env(work: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_NOISE)}
    return (
        env
        | {
            "DJANGO_INTEGRATOR_HOME": str(work / "state"),
            "TMPDIR": str(work / "tmp"),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        | extra
    )


def cli_args(invocation: Invocation) -> list[str]:
    args = ["run", "--yes", "--no-network", *invocation.args]
    return args if "--python" in args else [*args, "--python", sys.executable]


def _execute(invocation: Invocation, env: dict[str, str], cwd: Path) -> tuple[int | None, str]:
    """The CLI's exit code and all its output: in this process (`agent.cli.main`, as the console script
    calls it; a new interpreter per case would cost a second of imports each), or in a subprocess for the
    case that sends SIGINT."""
    if invocation.interrupt_after is None:
        return _in_process(cli_args(invocation), env, cwd)
    process = subprocess.Popen(
        [*CLI, *cli_args(invocation)],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        # A harness started in the background (`cmd &`) has SIGINT ignored, children inherit that, and Python
        # keeps an ignored SIGINT ignored: the run would never see the Ctrl-C this case sends.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if invocation.interrupt_after and invocation.interrupt_after in line:
            process.send_signal(signal.SIGINT)
            invocation.interrupt_after = None
    try:
        code = process.wait(timeout=CASE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        code = None
    return code, "".join(lines)


def _in_process(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int | None, str]:
    """`agent.cli.main(args)` with exactly `env` as the environment, `cwd` as the working folder and its
    TMPDIR as the temp folder; everything restored afterwards. An exception is printed as a traceback would
    be, so the check for one holds as it does for a subprocess."""
    from agent.cli import main

    saved_env, saved_cwd, saved_temp = dict(os.environ), os.getcwd(), tempfile.tempdir
    output = io.StringIO()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    tempfile.tempdir = env["TMPDIR"]
    try:
        with redirect_stdout(output), redirect_stderr(output):
            try:
                code: int | None = main(args)
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code if isinstance(exc.code, int) else 2
            except Exception:
                output.write(traceback.format_exc())
                code = 1
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
        tempfile.tempdir = saved_temp
    return code, output.getvalue()


def _discover(invocation: Invocation) -> tuple[int | None, str]:
    """Discovery alone, in this process (the 10,000-file case): exit 0 and what it found, with its time."""
    from tools.django_celery.discovery import DiscoveryError, discover_project

    assert invocation.project is not None
    started = time.perf_counter()
    try:
        facts = discover_project(invocation.project, Path(sys.executable))
    except DiscoveryError as exc:
        return 2, f"django-integrator: {exc}"
    seconds = time.perf_counter() - started
    return (
        0,
        f"discovered {facts.settings_module} with apps {[a.label for a in facts.apps]} in {seconds:.2f} s",
    )


def user_message(output: str) -> str:
    """The line that tells the user what went wrong (or the last line, when nothing did)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for prefix in ("django-integrator:", "usage error", "Stopped:", "Interrupted"):
        found = [line for line in lines if line.startswith(prefix) and "warning:" not in line]
        if found:
            return found[-1]
    return lines[-1] if lines else ""


def run_case(case: BadInput, template: Path, work: Path) -> CaseOutcome:
    """Build the case in `work` (a new, empty folder), run it, and check everything listed above."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "tmp").mkdir(exist_ok=True)
    invocation = case.build(template, work)
    project = invocation.project
    before = manifest(project) if project is not None and project.is_dir() else None
    started = time.perf_counter()
    env = case_env(work, invocation.env)
    with invocation.during():
        code, output = _discover(invocation) if invocation.discovery_only else _execute(invocation, env, work)
    seconds = time.perf_counter() - started
    problems = []
    if code != case.exit_code:
        problems.append(f"exit {code}, expected {case.exit_code}")
    if "Traceback (most recent call last)" in output:
        problems.append("a traceback was printed")
    missing = [p for p in case.expect if p.lower() not in output.lower()]
    if missing:
        problems.append(f"the output does not say {missing}")
    after = manifest(project) if before is not None and project is not None else None
    changed = differences(before, after) if before is not None and after is not None else []
    lost = bytes_lost(before, after) if before is not None and after is not None and code != 0 else 0
    if changed and code != 0:  # a run that passed changed the project, as it should; any other must not
        problems.append(f"the project changed ({lost} bytes lost): {changed[:5]}")
    left = processes_touching(project) if project is not None else []
    if left:
        problems.append(f"{len(left)} process(es) left running: {[command_line(pid) for pid in left]}")
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    temp_left = sorted(p.name for p in (work / "tmp").iterdir())
    if temp_left:
        problems.append(f"temp left: {temp_left[:3]}")
    if case.after is not None and code == 0 and project is not None:
        problems += case.after(project)
    secrets = canaries_in(output, work / "state", CANARIES)
    if code == 0 and project is not None:
        secrets += [f"project: {where}" for where in canaries_in("", project, CANARIES)]
    if secrets:
        problems.append(f"a planted secret was written: {secrets}")
    return CaseOutcome(
        name=case.name,
        behaviour=case.behaviour,
        handled=not problems,
        exit_code=code,
        message=user_message(output),
        changed=changed,
        bytes_lost=lost,
        processes_left=len(left),
        secrets_written=len(secrets),
        seconds=round(seconds, 2),
        problems=problems,
    )


def run_corpus(cases: list[BadInput], template: Path, root: Path) -> list[CaseOutcome]:
    """Every case in its own folder under root (removed afterwards, read-only modes first undone)."""
    outcomes = []
    for case in cases:
        work = root / case.name
        try:
            outcomes.append(run_case(case, template, work))
        finally:
            writable_again(work)
            shutil.rmtree(work, ignore_errors=True)
    return outcomes


def writable_again(folder: Path) -> None:
    """Give back write permission the case took away, so the work folder can be removed."""
    for path in [folder, *folder.rglob("*")] if folder.exists() else []:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o700 if path.is_dir() else path.stat().st_mode | 0o600)
