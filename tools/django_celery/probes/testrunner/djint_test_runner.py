"""A Django test runner that records each test's outcome, for `--project-tests`.

`manage.py test --testrunner djint_test_runner.RecordingRunner` runs the project's suite with the
project's own runner class (settings.TEST_RUNNER, subclassed here) and writes, to the file named by
DJINT_TEST_REPORT, which tests passed, failed (or errored) and were skipped. A test whose class set-up
failed never reports success, so it counts as failed; import errors of test modules too.

Loaded by Django in the project's interpreter; standard library and Django only.
"""

import json
import os
import unittest

from django.conf import settings
from django.test.utils import get_runner

ProjectRunner = get_runner(settings)
SUCCEEDED = []


def flatten(suite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from flatten(test)
        else:
            yield test


def test_id(test):
    return getattr(test, "test_case", test).id()  # a failed subTest reports its test


class RecordingRunner(ProjectRunner):
    def get_resultclass(self):
        base = super().get_resultclass() or unittest.TextTestResult

        class RecordingResult(base):
            def addSuccess(self, test):
                super().addSuccess(test)
                SUCCEEDED.append(test.id())

            def addExpectedFailure(self, test, err):
                super().addExpectedFailure(test, err)
                SUCCEEDED.append(test.id())

        return RecordingResult

    def run_suite(self, suite, **kwargs):
        planned = [test_id(test) for test in flatten(suite)]
        result = super().run_suite(suite, **kwargs)
        passed = sorted(set(SUCCEEDED))
        skipped = sorted({test_id(test) for test, _ in result.skipped} - set(passed))
        broken = [test_id(test) for test, _ in result.failures + result.errors]
        broken += [test_id(test) for test in result.unexpectedSuccesses]
        failed = sorted((set(planned) | set(broken)) - set(passed) - set(skipped))
        with open(os.environ["DJINT_TEST_REPORT"], "w") as handle:
            json.dump({"passed": passed, "failed": failed, "skipped": skipped}, handle)
        return result
