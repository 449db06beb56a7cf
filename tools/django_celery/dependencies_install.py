"""Packages the integration needs, in the project's own interpreter: checked always, installed only with consent.

The dependency files say what the project needs (codemods/dependencies.py declares it there); this module
makes the project's interpreter actually have it. Without consent (`--install-deps`) nothing is installed:
the analysis gate fails with the interpreter and the exact pip command to run. With consent the packages
go into that interpreter only (`<interpreter> -m pip install ...`), never into the agent's own environment
unless the user named it as the project's interpreter with `--python`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel

from agent.checklist import CheckResult
from tools.django_celery.codemods.dependencies import (
    BEAT_REQUIREMENT,
    RESULTS_REQUIREMENT,
    Requirement,
    celery_requirement,
)
from tools.django_celery.facts import Decisions, ProjectFacts
from tools.django_celery.project_session import missing_in_session

IMPORT_NAMES = {
    "celery": "celery",
    "django-celery-results": "django_celery_results",
    "django-celery-beat": "django_celery_beat",
}
FIND_SPECS = (
    "import importlib.util, json, sys; "
    "print(json.dumps([m for m in sys.argv[1:] if importlib.util.find_spec(m) is None]))"
)
PIP_TIMEOUT_S = 900.0
INSTALL_LOG = "installs.jsonl"


class InstallRecord(BaseModel):
    """One consented installation, for the report."""

    interpreter: str
    requirements: list[str]
    ok: bool
    output_tail: str


def broker_scheme(decisions: Decisions, configured: str | None = None) -> str:
    """The broker the project will use: the one asked for, else the one its settings configure
    (`configured`, the live repr of CELERY_BROKER_URL), else Redis, the default our settings write."""
    if decisions.broker_url:
        return urlsplit(decisions.broker_url).scheme
    url = configured.strip("'\"") if configured else ""
    return urlsplit(url).scheme if "://" in url else "redis"


def needed_requirements(
    decisions: Decisions, backend: str | None = None, configured_broker: str | None = None
) -> list[Requirement]:
    """What the decisions need importable: celery (with the Redis client when Redis is used), results, beat.

    A project already configured for RabbitMQ needs no Redis client: `configured_broker` is its
    CELERY_BROKER_URL as the project's interpreter read it.
    """
    backend = backend or decisions.result_backend
    scheme = broker_scheme(decisions, configured_broker)
    wanted = [celery_requirement(redis=scheme.startswith("redis") or backend == "redis")]
    if backend in ("django-db", "django-cache"):
        wanted.append(RESULTS_REQUIREMENT)
    if decisions.beat:
        wanted.append(BEAT_REQUIREMENT)
    return wanted


def configured_broker(facts: ProjectFacts) -> str | None:
    return facts.existing.celery_settings.get("CELERY_BROKER_URL")


def import_names(requirement: Requirement) -> list[str]:
    return [IMPORT_NAMES[requirement.key], *(["redis"] if "redis" in requirement.extras else [])]


def missing_for(facts: ProjectFacts, wanted: list[Requirement]) -> list[Requirement]:
    """The requirements the project's interpreter lacks: asked of the run's project session when one is
    up (no interpreter to start), else of a one-off subprocess."""
    modules = [name for requirement in wanted for name in import_names(requirement)]
    absent = missing_in_session(facts, modules)
    if absent is None:
        return missing_requirements(facts.interpreter, wanted)
    return [r for r in wanted if set(absent) & set(import_names(r))]


def missing_requirements(
    interpreter: str, wanted: list[Requirement], timeout: float = 60
) -> list[Requirement]:
    """The requirements whose modules the interpreter cannot find (one subprocess, nothing imported)."""
    modules = [name for requirement in wanted for name in import_names(requirement)]
    done = subprocess.run(
        [interpreter, "-c", FIND_SPECS, *modules],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=clean_env(interpreter),
    )
    if done.returncode != 0:
        raise RuntimeError(f"{interpreter} could not be asked for its packages: {done.stderr.strip()[-500:]}")
    absent = set(json.loads(done.stdout.strip().splitlines()[-1]))
    return [r for r in wanted if absent & set(import_names(r))]


def clean_env(interpreter: str) -> dict[str, str]:
    """The agent's environment (pip's own configuration included) minus what would point at the agent's."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PATH"] = str(Path(interpreter).parent) + os.pathsep + env.get("PATH", "")
    return env


def pip_command(interpreter: str, wanted: list[Requirement]) -> list[str]:
    return [interpreter, "-m", "pip", "install", *(r.pep508() for r in wanted)]


def shell_command(command: list[str]) -> str:
    return " ".join(f"'{part}'" if any(c in part for c in "[]<>=, ") else part for part in command)


def is_agent_interpreter(facts: ProjectFacts) -> bool:
    return Path(facts.interpreter).absolute() == Path(sys.executable).absolute()


def install_refusal(facts: ProjectFacts) -> str | None:
    """Why consent alone is not enough here, or None: the agent's own interpreter, chosen as a last resort."""
    if is_agent_interpreter(facts) and not facts.interpreter_reason.startswith("given with --python"):
        return (
            f"the project's interpreter is the agent's own ({facts.interpreter}), used only because no project "
            "virtualenv was found; packages are not installed there. Pass --python with the project's "
            "interpreter (or create its .venv)"
        )
    return None


def install(interpreter: str, wanted: list[Requirement], timeout: float = PIP_TIMEOUT_S) -> InstallRecord:
    """`<interpreter> -m pip install <requirements>`: into that interpreter's environment and nowhere else."""
    command = pip_command(interpreter, wanted)
    env = clean_env(interpreter) | {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    try:
        done = subprocess.run(
            [*command, "--quiet"],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        ok, output = done.returncode == 0, (done.stdout + done.stderr).strip()
    except subprocess.TimeoutExpired:
        ok, output = False, f"pip did not finish within {timeout:.0f} s"
    return InstallRecord(
        interpreter=interpreter, requirements=[r.pep508() for r in wanted], ok=ok, output_tail=output[-1500:]
    )


def ensure_installed(
    facts: ProjectFacts, decisions: Decisions, backend: str, consent: bool, record_dir: Path | None = None
) -> list[str]:
    """Install what the project's interpreter lacks when consented; notes for the setup summary.

    Each installation is also appended to `record_dir`/installs.jsonl (the run's folder), so the report
    says what was installed where: undo cannot uninstall packages.
    """
    wanted = needed_requirements(decisions, backend, configured_broker(facts))
    missing = missing_for(facts, wanted)
    if not missing:
        return []
    command = shell_command(pip_command(facts.interpreter, missing))
    if not consent:
        return [
            f"Not installed (no consent): {', '.join(r.pep508() for r in missing)} missing in {facts.interpreter}. "
            f"Run `{command}`, or run again with --install-deps."
        ]
    refusal = install_refusal(facts)
    if refusal:
        return [f"Not installed: {refusal}. To install by hand: `{command}`."]
    record = install(facts.interpreter, missing)
    if record_dir is not None:
        with (record_dir / INSTALL_LOG).open("a") as log:
            log.write(record.model_dump_json() + "\n")
    if not record.ok:
        return [f"`{command}` failed:\n{record.output_tail}"]
    return [
        f"Installed into {facts.interpreter} (consented with --install-deps): {', '.join(record.requirements)}."
    ]


def installed_during(record_dir: Path | None) -> list[InstallRecord]:
    log = record_dir / INSTALL_LOG if record_dir is not None else None
    if log is None or not log.is_file():
        return []
    return [InstallRecord.model_validate_json(line) for line in log.read_text().splitlines() if line.strip()]


def dependencies_check(
    facts: ProjectFacts, decisions: Decisions, record_dir: Path | None = None
) -> CheckResult:
    """Analysis gate: the project's interpreter can import everything the decisions need."""
    wanted = needed_requirements(decisions, configured_broker=configured_broker(facts))
    try:
        missing = missing_for(facts, wanted)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        return _result(False, f"could not check the packages of {facts.interpreter}: {exc}")
    listed = ", ".join(r.pep508() for r in wanted)
    installs = [
        f"{', '.join(r.requirements)} installed into it with consent (--install-deps)"
        for r in installed_during(record_dir)
        if r.ok
    ]
    if not missing:
        return _result(
            True, "; ".join([f"{facts.interpreter} ({facts.interpreter_reason}) has {listed}", *installs])
        )
    command = shell_command(pip_command(facts.interpreter, missing))
    why = install_refusal(facts)
    advice = f"{why}, or run `{command}`" if why else f"run `{command}`, or run again with --install-deps"
    return _result(
        False,
        f"{facts.interpreter} ({facts.interpreter_reason}) lacks {', '.join(r.pep508() for r in missing)}: "
        f"{advice} (packages are installed only with consent)",
    )


def _result(passed: bool, evidence: str) -> CheckResult:
    return CheckResult(
        key="dependencies",
        number=0,
        title="the project's interpreter has the packages",
        passed=passed,
        evidence=evidence,
    )
