"""Eager mode switched on in the settings the project runs with: reported, or turned off with consent.

cookiecutter-django's `config/settings/local.py` sets `CELERY_TASK_ALWAYS_EAGER = True` so that runserver
works without a worker; in those settings every task then runs inline in the web process and none ever
reaches the broker, so the worker a developer starts never receives work (celery-audit's CEL020, high).
With `--fix-eager` each such literal `True` becomes `False`; tests that want eager mode turn it on for
themselves (`override_settings`, or a test settings module, which is not in the chain of the settings the
project runs with and is never touched). A literal `True` in a branch counts too (pretalx falls back to
eager mode when no broker is configured): consent is the user's call; a value read from the environment is
not a literal and is left alone.
"""

from __future__ import annotations

import libcst as cst

from tools.django_celery.codemods.settings_chain import Assignment, SettingsChain, project_chain
from tools.django_celery.codemods.workspace import ProjectEdits
from tools.django_celery.facts import ProjectFacts

EAGER_NAMES = ("CELERY_TASK_ALWAYS_EAGER", "CELERY_ALWAYS_EAGER")


def eager_assignments_in(chain: SettingsChain) -> list[Assignment]:
    """Assignments of a literal True to an eager-mode setting anywhere in the settings of `chain`."""
    return [
        a
        for f in chain.files
        for a in f.assignments
        if a.name in EAGER_NAMES and isinstance(a.value, cst.Name) and a.value.value == "True"
    ]


def eager_assignments(facts: ProjectFacts, edits: ProjectEdits) -> list[Assignment]:
    return eager_assignments_in(project_chain(facts, edits.read))


def turn_eager_off(edits: ProjectEdits, facts: ProjectFacts) -> None:
    """Set each of them to False (consented: --fix-eager), one file edit at a time."""
    done: set[str] = set()
    while pending := [a for a in eager_assignments(facts, edits) if a.where not in done]:
        assignment = pending[0]
        done.add(assignment.where)
        assert assignment.value is not None
        module = assignment.file.module.deep_replace(assignment.value, cst.Name("False"))
        edits.write(assignment.file.rel, module.code, f"{assignment.name}: True -> False")
        edits.warn(
            f"{assignment.where}: {assignment.name} was True, so tasks ran inline and never reached a worker in "
            "those settings; set to False (start a worker, or turn eager mode on in a test with override_settings)."
        )


def report_eager(edits: ProjectEdits, facts: ProjectFacts) -> None:
    for assignment in eager_assignments(facts, edits):
        edits.warn(
            f"{assignment.where}: {assignment.name} = True: in those settings every task runs inline and none "
            "reaches a worker; not changed: turning it off needs consent (--fix-eager)."
        )
