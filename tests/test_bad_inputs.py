"""The bad-input corpus, one test per case: the real CLI on a real startproject copy (or on nothing).

Each case ends with the exit code chosen for it (2 for bad input), one message naming the problem and the
fix, no traceback, the project byte-identical (content and mode of every entry), no process left, no temp
file left and no planted secret in the output or the state folder. The cases and the behaviour chosen for
each are in `agent.evals.bad_inputs`; `django-integrator eval reliability` runs the same corpus.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.evals.bad_input_runner import run_case, writable_again
from agent.evals.bad_inputs import CASES, BadInput

pytestmark = pytest.mark.live


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: BadInput, startproject_template: Path, tmp_path: Path) -> None:
    try:
        outcome = run_case(case, startproject_template, tmp_path / "case")
    finally:
        writable_again(tmp_path / "case")
    assert outcome.handled, f"{case.behaviour}\n  problems: {outcome.problems}\n  message: {outcome.message}"


def test_the_corpus_has_at_least_thirty_distinct_cases() -> None:
    assert len({c.name for c in CASES}) == len(CASES) >= 30
    assert sum(c.exit_code == 2 for c in CASES) >= 30
