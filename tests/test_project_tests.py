"""`--project-tests`: the project's own suite before and after, per test id, with no broker reachable."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agent.cli import main
from agent.evals.layout_states import with_tests
from tests.celery_support import snapshot
from tools.django_celery.discovery import discover_project
from tools.django_celery.project_tests import (
    SuiteRun,
    project_tests_check,
    pytest_django_config,
    read_junit,
    run_project_tests,
)

pytestmark = pytest.mark.live

BROKER_NEEDED = """from django.test import TestCase

from .tasks import count_questions


class NeedsABrokerTests(TestCase):
    def test_sends_a_task_to_the_broker(self):
        count_questions.delay()
"""

TASKS = """from celery import shared_task


@shared_task
def count_questions():
    return 0
"""


@pytest.fixture(scope="module")
def suite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return with_tests(tmp_path_factory.mktemp("suite") / "project")


@pytest.fixture
def suite_project(suite_template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(suite_template, tmp_path / "project"))


def test_each_test_outcome_is_read_and_a_broken_test_is_named(suite_project: Path) -> None:
    facts = discover_project(suite_project)
    before_files = snapshot(suite_project)
    before = run_project_tests(facts)
    assert before.runner == "django" and before.error is None
    assert len(before.passed) == 4 and not before.failed
    assert "polls.tests.QuestionTests.test_str_is_the_text" in before.passed
    assert snapshot(suite_project) == before_files  # no test database, cache or bytecode left behind

    models = suite_project / "polls" / "models.py"
    models.write_text(models.read_text().replace("return self.question_text", "return 'broken'"))
    after = run_project_tests(facts)
    check = project_tests_check(before, after)
    assert not check.passed and check.number == 0
    assert "3 of 4 tests that passed before still pass" in check.evidence
    assert "Broken by the integration: polls.tests.QuestionTests.test_str_is_the_text" in check.evidence


def test_a_new_test_that_fails_fails_the_check(suite_project: Path) -> None:
    facts = discover_project(suite_project)
    before = run_project_tests(facts)
    (suite_project / "polls" / "test_added.py").write_text(
        "from django.test import SimpleTestCase\n\n\nclass AddedTests(SimpleTestCase):\n"
        "    def test_added(self):\n        self.assertEqual(1, 2)\n"
    )
    check = project_tests_check(before, run_project_tests(facts))
    assert not check.passed
    assert "4 of 4 tests that passed before still pass; 1 new test(s), 0 passing" in check.evidence
    assert "New tests failing: polls.test_added.AddedTests.test_added" in check.evidence


def test_tests_run_with_no_reachable_broker(suite_project: Path) -> None:
    """A test that really sends a task fails, so a passing suite proves none needs a broker."""
    (suite_project / "polls" / "tasks.py").write_text(TASKS)
    (suite_project / "polls" / "test_broker.py").write_text(BROKER_NEEDED)
    outcome = run_project_tests(discover_project(suite_project))
    assert outcome.failed == ["polls.test_broker.NeedsABrokerTests.test_sends_a_task_to_the_broker"]
    assert len(outcome.passed) == 4


def test_cli_reports_the_same_pass_count_before_and_after(
    suite_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", "--yes", "--json", "--no-network", "--project-tests", str(suite_project)])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report.get("error")
    check = next(c for c in report["phase_checks"]["verification"] if c["key"] == "project_tests")
    assert check["passed"], check["evidence"]
    assert "before 4 passed, 0 failed" in check["evidence"]
    assert "4 of 4 tests that passed before still pass" in check["evidence"]


def test_a_pytest_django_project_runs_under_pytest(suite_project: Path) -> None:
    ini = "[pytest]\nDJANGO_SETTINGS_MODULE = mysite.settings\npython_files = tests.py test_*.py\n"
    (suite_project / "pytest.ini").write_text(ini)
    before_files = snapshot(suite_project)
    outcome = run_project_tests(discover_project(suite_project))
    assert outcome.runner == "pytest", outcome.output_tail
    assert outcome.command.startswith("python -m pytest -p no:cacheprovider")
    assert len(outcome.passed) == 4 and not outcome.failed
    assert "polls.tests.QuestionTests.test_str_is_the_text" in outcome.passed
    assert snapshot(suite_project) == before_files  # no .pytest_cache, no bytecode


def test_pytest_django_configuration_is_recognised(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "pytest.ini").write_text("[pytest]\nDJANGO_SETTINGS_MODULE = mysite.settings\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\naddopts = "--ds=mysite.settings"\n'
    )
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "setup.cfg").write_text("[flake8]\nmax-line-length = 100\n")
    assert pytest_django_config([tmp_path / "a"]) == tmp_path / "a"
    assert pytest_django_config([tmp_path / "c", tmp_path / "b"]) == tmp_path / "b"
    assert pytest_django_config([tmp_path / "c"]) is None


def test_junit_outcomes_and_a_missing_baseline(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="polls.tests" name="test_ok"/>'
        '<testcase classname="polls.tests" name="test_bad"><failure message="x"/></testcase>'
        '<testcase classname="polls.tests" name="test_skip"><skipped/></testcase>'
        '<testcase classname="" name="polls.test_import"><error message="collection failure"/></testcase>'
        "</testsuite></testsuites>"
    )
    assert read_junit(report) == (
        ["polls.tests.test_ok"],
        ["polls.test_import", "polls.tests.test_bad"],
        ["polls.tests.test_skip"],
    )
    after = SuiteRun(runner="pytest", command="python -m pytest", passed=["polls.tests.test_ok"])
    assert not project_tests_check(None, after).passed
