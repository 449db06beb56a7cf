"""The real project's own world: its venv from its own requirements, its database, its own test suite.

The venv lives outside the rebuilt tree (so `git status` there shows only what a run changed) and is
reused while the case's python and install commands are the same and its packages are those the
install left (`pip freeze` recorded then); a run that installed Celery into it makes the next eval
build it again, so every eval starts from the project as its developer has it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from pydantic import BaseModel

from agent.evals.real_cases import RealCase, RealCaseError

PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres"}
SUITE_TIMEOUT_S = 1800


def case_env(case: RealCase, venv: Path) -> dict[str, str]:
    """The environment its commands run in: ours, its placeholders, its venv first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DJANGO_SETTINGS_MODULE"))}
    env.pop("PYTHONPATH", None)
    env |= {"VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"}
    env |= {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    return env | case.env


def _freeze(venv: Path) -> list[str]:
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "freeze"], capture_output=True, text=True
    )
    return sorted(done.stdout.splitlines())


def find_python(version: str) -> str | None:
    """An interpreter `pythonX.Y` that really runs: on PATH, else one of pyenv's installed versions (a pyenv
    shim on PATH answers "command not found" for any version the global setting does not select)."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [shutil.which(f"python{version}")]
    candidates += [
        str(p) for p in sorted(root.glob(f"versions/{version}.*/bin/python{version}"), reverse=True)
    ]
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
            return candidate
    return None


def build_venv(case: RealCase, tree: Path, venv: Path, log: Path) -> tuple[bool, float]:
    """Its venv, reused or built afresh from its install commands; (reused?, seconds)."""
    started = time.monotonic()
    stamp = venv / "djint-stamp.json"
    key = hashlib.sha256(json.dumps([case.commit, case.python, case.install]).encode()).hexdigest()
    if stamp.is_file():
        recorded = json.loads(stamp.read_text())
        if recorded["key"] == key and recorded["freeze"] == _freeze(venv):
            return True, time.monotonic() - started
    shutil.rmtree(venv, ignore_errors=True)
    python = find_python(case.python)
    if python is None:
        raise RealCaseError(f"{case.name}: python{case.python} is not installed here (the case asks for it)")
    env = case_env(case, venv)
    with log.open("a", encoding="utf-8") as out:
        steps = [f"{python} -m venv {venv}", "python -m pip install -q --upgrade pip", *case.install]
        for command in steps:
            out.write(f"$ {command}\n")
            out.flush()
            done = subprocess.run(
                command, shell=True, cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT
            )
            if done.returncode:
                raise RealCaseError(
                    f"{case.name}: install step failed ({done.returncode}): {command} — see {log}"
                )
    stamp.write_text(json.dumps({"key": key, "freeze": _freeze(venv)}))
    return False, time.monotonic() - started


def django_version(venv: Path) -> str:
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import django; print(django.get_version())"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or f"not importable: {done.stderr.strip()[-200:]}"


def fresh_database(name: str) -> None:
    """Drop and create its PostgreSQL database (trust auth on 127.0.0.1), so every eval starts empty."""
    args = ["-h", PG["host"], "-p", PG["port"], "-U", PG["user"]]
    subprocess.run(["dropdb", *args, "--if-exists", "--force", name], capture_output=True, check=False)
    done = subprocess.run(["createdb", *args, name], capture_output=True, text=True)
    if done.returncode:
        raise RealCaseError(
            f"createdb {name} failed: {done.stderr.strip()} (is PostgreSQL on 127.0.0.1:5432?)"
        )


def migrate_database(case: RealCase, tree: Path, venv: Path, log: Path) -> None:
    """`manage.py migrate` on its fresh database, as its developer did when setting the project up: the
    run then finds the project's own tables there (only Celery's are its to migrate)."""
    manage = tree / case.path / "manage.py"
    done = subprocess.run(
        [str(venv / "bin" / "python"), str(manage), "migrate", "--noinput", "-v", "0"],
        cwd=manage.parent,
        env=case_env(case, venv),
        capture_output=True,
        text=True,
        timeout=SUITE_TIMEOUT_S,
    )
    with log.open("a", encoding="utf-8") as out:
        out.write(f"$ python manage.py migrate --noinput\n{done.stdout}{done.stderr}\n")
    if done.returncode:
        raise RealCaseError(f"{case.name}: migrating its database failed — see {log}")


def drop_database(name: str) -> None:
    args = ["-h", PG["host"], "-p", PG["port"], "-U", PG["user"]]
    subprocess.run(["dropdb", *args, "--if-exists", "--force", name], capture_output=True, check=False)


class Suite(BaseModel):
    """One run of its own suite: counts read from the runner's summary line."""

    ran: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    exit_code: int | None = None
    seconds: float = 0.0
    tail: str = ""

    @property
    def summary(self) -> str:
        bad = f", {self.failed} failed, {self.errors} errors" if self.failed or self.errors else ""
        return f"{self.passed}/{self.ran}{bad}"


_DJANGO_RAN = re.compile(r"^Ran (\d+) tests? in ", re.M)
_DJANGO_STATUS = re.compile(r"^(OK|FAILED)(?: \((.*)\))?\s*$", re.M)
_PYTEST_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected)\b")


def parse_counts(output: str) -> Suite:
    """Counts from `manage.py test` (unittest) or pytest output; all zero when neither summary is there."""
    ran = _DJANGO_RAN.findall(output)
    if ran:
        statuses = _DJANGO_STATUS.findall(output)
        detail = dict(
            (k.strip(), int(v))
            for k, v in re.findall(r"([a-z ]+)=(\d+)", statuses[-1][1] if statuses else "")
        )
        total = int(ran[-1])
        failed, errors, skipped = detail.get("failures", 0), detail.get("errors", 0), detail.get("skipped", 0)
        passed = total - failed - errors - skipped - detail.get("expected failures", 0)
        return Suite(ran=total, passed=passed, failed=failed, errors=errors, skipped=skipped)
    summary = [line for line in output.splitlines() if _PYTEST_COUNT.search(line) and " in " in line]
    if not summary:
        return Suite()
    counts: dict[str, int] = {}
    for number, word in _PYTEST_COUNT.findall(summary[-1]):
        counts[word.rstrip("s") if word.startswith("error") else word] = int(number)
    passed, failed, errors = counts.get("passed", 0), counts.get("failed", 0), counts.get("error", 0)
    skipped = counts.get("skipped", 0)
    return Suite(
        ran=passed + failed + errors + skipped, passed=passed, failed=failed, errors=errors, skipped=skipped
    )


def run_suite(case: RealCase, tree: Path, venv: Path, log: Path) -> Suite:
    """Its own test command, as its developer runs it, from its test folder; output appended to `log`."""
    started = time.monotonic()
    try:
        done = subprocess.run(
            case.test_command,
            shell=True,
            cwd=tree / case.test_cwd,
            env=case_env(case, venv),
            capture_output=True,
            text=True,
            timeout=SUITE_TIMEOUT_S,
        )
        output, code = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired as exc:
        output, code = f"{exc.stdout or ''}{exc.stderr or ''}\n(timed out after {SUITE_TIMEOUT_S} s)", None
        output = output if isinstance(output, str) else output.decode(errors="replace")
    with log.open("a", encoding="utf-8") as out:
        out.write(f"$ (cd {case.test_cwd} && {case.test_command})\n{output}\n")
    suite = parse_counts(output)
    suite.exit_code, suite.seconds = code, round(time.monotonic() - started, 1)
    suite.tail = "\n".join(output.strip().splitlines()[-6:])
    return suite
