"""`--project-tests`: the project's own test suite, run before the integration and again after it.

The runner is the project's: pytest when the project configures pytest-django (and its interpreter has
it), else `manage.py test` with the project's TEST_RUNNER, subclassed only to record each test's outcome
(probes/testrunner). Results are per test id, so the gate can name every test that passed before and does
not pass after. Tests added by the integration are counted separately.

Hermetic: both runs get CELERY_BROKER_URL pointing at a port nothing listens on. A test that needs a broker
fails that way, so a suite that passes after the integration proves the integration needs no broker under
test (tasks run eagerly in tests, or are not sent at all). Bytecode writing and pytest's cache are off, so
the runs leave no files in the project.
"""

from __future__ import annotations

import configparser
import json
import subprocess
import tomllib
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from agent.checklist import CheckResult
from tools.django_celery.facts import ProjectFacts
from tools.django_celery.project_env import base_dir_of, facts_env
from tools.scratch import scratch_dir

RUNNER_DIR = Path(__file__).resolve().parent / "probes" / "testrunner"
# Nothing listens on port 1, so a test that really needs a broker fails. AMQP because its client (py-amqp)
# comes with every Celery install; a redis:// URL would fail to import in a project without redis-py.
UNREACHABLE_BROKER = "amqp://guest:guest@127.0.0.1:1//"
TIMEOUT_S = 900.0
Runner = Literal["django", "pytest"]


class SuiteRun(BaseModel):
    """One run of the project's suite."""

    runner: Runner
    command: str
    passed: list[str] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)
    returncode: int | None = None
    error: str | None = None  # the suite could not be run or its outcome not read
    output_tail: str = ""

    def summary(self) -> str:
        if self.error:
            return f"not run ({self.error})"
        return f"{len(self.passed)} passed, {len(self.failed)} failed, {len(self.skipped)} skipped"


def pytest_django_config(folders: list[Path]) -> Path | None:
    """The folder whose pytest configuration sets up pytest-django (DJANGO_SETTINGS_MODULE or --ds)."""
    for folder in folders:
        for name, section in (("pytest.ini", "pytest"), ("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
            file = folder / name
            if file.is_file() and _ini_mentions_django(file, section):
                return folder
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            try:
                options = tomllib.loads(pyproject.read_text()).get("tool", {}).get("pytest", {})
            except (tomllib.TOMLDecodeError, UnicodeDecodeError):
                continue
            text = str(options.get("ini_options", {}))
            if "DJANGO_SETTINGS_MODULE" in text or "--ds" in text:
                return folder
    return None


def _ini_mentions_django(file: Path, section: str) -> bool:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(file.read_text())
    except (configparser.Error, UnicodeDecodeError):
        return False
    if not parser.has_section(section):
        return False
    text = " ".join(f"{key}={value}" for key, value in parser.items(section))
    return "django_settings_module" in text.lower() or "--ds" in text


def has_module(interpreter: str, module: str) -> bool:
    done = subprocess.run(
        [
            interpreter,
            "-c",
            f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)",
        ],
        capture_output=True,
        timeout=60,
    )
    return done.returncode == 0


def choose_runner(facts: ProjectFacts) -> tuple[Runner, Path]:
    """("pytest", config folder) for a pytest-django project whose interpreter has it, else Django's runner."""
    root = Path(facts.root)
    config = pytest_django_config(list(dict.fromkeys([root, base_dir_of(facts)])))
    if config is not None and has_module(facts.interpreter, "pytest_django"):
        return "pytest", config
    return "django", base_dir_of(facts)


def hermetic_env(facts: ProjectFacts, extra_pythonpath: list[Path] | None = None) -> dict[str, str]:
    env = facts_env(facts, extra_pythonpath=extra_pythonpath)
    env.pop("CELERY_RESULT_BACKEND", None)
    env["CELERY_BROKER_URL"] = UNREACHABLE_BROKER
    return env


def run_project_tests(facts: ProjectFacts, timeout: float = TIMEOUT_S) -> SuiteRun:
    """Run the project's suite in its interpreter and read each test's outcome."""
    runner, cwd = choose_runner(facts)
    with scratch_dir("tests") as folder:
        report = Path(folder) / ("junit.xml" if runner == "pytest" else "outcomes.json")
        if runner == "pytest":
            argv = [facts.interpreter, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--junitxml={report}"]
            env = hermetic_env(facts)
        else:
            manage = str(Path(facts.root) / facts.manage_py)
            argv = [
                facts.interpreter,
                manage,
                "test",
                "--noinput",
                "--testrunner",
                "djint_test_runner.RecordingRunner",
            ]
            env = hermetic_env(facts, extra_pythonpath=[RUNNER_DIR]) | {"DJINT_TEST_REPORT": str(report)}
        shown = " ".join(["python", *argv[1:]]).replace(str(report), "<report>")
        shown = shown.replace(str(Path(facts.root) / facts.manage_py), facts.manage_py)
        outcome = SuiteRun(runner=runner, command=shown)
        try:
            done = subprocess.run(
                argv,
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            outcome.error = f"the suite did not finish within {timeout:.0f} s"
            return outcome
        outcome.returncode = done.returncode
        outcome.output_tail = (done.stdout + done.stderr)[-3000:]
        if not report.is_file():
            outcome.error = f"no outcome was recorded (exit {done.returncode}): {outcome.output_tail[-800:]}"
            return outcome
        if runner == "pytest":
            outcome.passed, outcome.failed, outcome.skipped = read_junit(report)
        else:
            data = json.loads(report.read_text())
            outcome.passed, outcome.failed, outcome.skipped = data["passed"], data["failed"], data["skipped"]
    return outcome


def read_junit(report: Path) -> tuple[list[str], list[str], list[str]]:
    """(passed, failed, skipped) test ids from a JUnit XML file (pytest's --junitxml)."""
    passed, failed, skipped = [], [], []
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        name = ".".join(part for part in (case.get("classname"), case.get("name")) if part)
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            failed.append(name)
        elif "skipped" in tags:
            skipped.append(name)
        else:
            passed.append(name)
    return sorted(passed), sorted(failed), sorted(skipped)


def project_tests_check(before: SuiteRun | None, after: SuiteRun) -> CheckResult:
    """Fails on any test that passed before the integration and does not pass after it, and on a new test
    that fails: between the two runs only the agent changed the project, so a new test is one it added."""
    if before is None or before.error:
        reason = before.error if before else "the suite was not run before the integration"
        return _result(False, f"no baseline to compare with: {reason}")
    if after.error:
        return _result(False, f"before: {before.summary()}; after: {after.summary()} ({after.command})")
    passed_after = set(after.passed)
    broken = [test for test in before.passed if test not in passed_after]
    known = set(before.passed) | set(before.failed) | set(before.skipped)
    new = [test for test in after.passed + after.failed if test not in known]
    new_failed = [test for test in after.failed if test not in known]
    still = len(before.passed) - len(broken)
    evidence = (
        f"{after.runner} runner (`{after.command}`, CELERY_BROKER_URL={UNREACHABLE_BROKER}): before "
        f"{before.summary()}; after {after.summary()}; {still} of {len(before.passed)} tests that passed before "
        "still pass"
    )
    if new:
        evidence += f"; {len(new)} new test(s), {len(new) - len(new_failed)} passing"
    if broken:
        evidence += ". Broken by the integration: " + ", ".join(broken[:20])
    if new_failed:
        evidence += ". New tests failing: " + ", ".join(new_failed[:20])
    return _result(not broken and not new_failed, evidence)


def _result(passed: bool, evidence: str) -> CheckResult:
    return CheckResult(
        key="project_tests", number=0, title="the project's own tests", passed=passed, evidence=evidence
    )
