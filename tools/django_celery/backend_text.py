"""Which result backend the settings select, and how evidence and summaries name the one in use.

When a project already has a CELERY_RESULT_BACKEND of its own that is none of the four this tool configures
(pretalx's `config.get("celery", "backend")`, an `rpc://` or `db+postgresql://` URL), /celery:setup keeps it
and the run's decision becomes "none": nothing of ours is added for results. That is a fact about what we
add, not about the project, whose results do go somewhere; saying "result backend none" would tell the user
their results are dropped. So every text that names the backend asks the settings first.
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst

from tools.django_celery.codemods.settings_chain import Assignment, SettingsChain, project_chain
from tools.django_celery.codemods.source import disk_reader
from tools.django_celery.facts import ProjectFacts, ResultBackend


def backend_kind(assignment: Assignment, chain: SettingsChain) -> ResultBackend | None:
    """Which backend an existing CELERY_RESULT_BACKEND selects (None when it is something else).

    A value that names another setting (cookiecutter-django's `CELERY_RESULT_BACKEND = REDIS_URL`) is
    followed through the settings chain, so the project's own choice is recognised, never rewritten.
    """
    if isinstance(assignment.value, cst.Name) and assignment.value.value == "None":
        return "none"
    strings: list[str] = []

    class Strings(cst.CSTVisitor):
        def __init__(self, depth: int) -> None:
            super().__init__()
            self.depth = depth

        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            strings.append(str(node.evaluated_value))

        def visit_Name(self, node: cst.Name) -> None:
            referenced = chain.assignments(node.value) if self.depth < 3 else []
            if referenced and referenced[-1].value is not None:
                referenced[-1].value.visit(Strings(self.depth + 1))

    if assignment.value is not None:
        assignment.value.visit(Strings(0))
    for value in strings:
        if value in ("django-db", "django-cache"):
            return value  # type: ignore[return-value]
        if value.startswith(("redis://", "rediss://")):
            return "redis"
    return None


def own_backend(chain: SettingsChain, backend: ResultBackend) -> Assignment | None:
    """The project's own CELERY_RESULT_BACKEND in use when the decision is "none" (nothing of ours added)."""
    existing = chain.assignments("CELERY_RESULT_BACKEND")
    if backend == "none" and existing and backend_kind(existing[-1], chain) is None:
        return existing[-1]
    return None


def backend_description(chain: SettingsChain, backend: ResultBackend) -> str:
    """ "result backend django-db", or "the project's own result backend, <expression> (kept)"."""
    own = own_backend(chain, backend)
    return f"the project's own result backend, {own.code} (kept)" if own else f"result backend {backend}"


def project_backend_description(facts: ProjectFacts, backend: ResultBackend) -> str:
    """The same, read from the project's settings as they are on disk."""
    return backend_description(project_chain(facts, disk_reader(Path(facts.root))), backend)
