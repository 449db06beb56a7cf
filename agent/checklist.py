"""The self-verification checklist: one item = one function `(project, state) -> CheckResult`.

The eleven items are the seed's, in its order; each is owned by the gate of one phase (DESIGN.md).
Gates of discovery, analysis and planning also check their own outputs with items numbered 0.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, field_validator

from tools.secret_guard import mask_url_passwords

Phase = Literal["discovery", "analysis", "planning", "implementation", "verification"]
PHASES: tuple[Phase, ...] = ("discovery", "analysis", "planning", "implementation", "verification")


class CheckResult(BaseModel):
    key: str  # stable identifier, e.g. "celery_module"
    number: int  # 1..11 for the seed's checklist, 0 for a phase's own output check
    title: str
    passed: bool
    evidence: str  # what was looked at and what was found, specific enough to act on

    @field_validator("evidence")
    @classmethod
    def _no_password(cls, evidence: str) -> str:
        """Evidence quotes the user's code; a URL password in it is masked before it is shown or stored."""
        return mask_url_passwords(evidence)


class ChecklistItem(BaseModel):
    number: int
    key: str
    title: str  # the seed's wording, shortened
    gate: Phase
    keywords: tuple[str, ...]  # a plan step mentioning one of these covers the item (lower-case)


CHECKLIST: tuple[ChecklistItem, ...] = (
    ChecklistItem(
        number=1,
        key="docs",
        title="Django-Celery documentation consulted",
        gate="discovery",
        keywords=("documentation", "docs"),
    ),
    ChecklistItem(
        number=2,
        key="celery_module",
        title="celery.py with Django settings autodiscovery",
        gate="implementation",
        keywords=("celery.py",),
    ),
    ChecklistItem(
        number=3,
        key="init_loads_app",
        title="__init__.py loads the Celery app on startup",
        gate="implementation",
        keywords=("__init__",),
    ),
    ChecklistItem(
        number=4,
        key="celery_settings",
        title="settings contain CELERY_* configuration",
        gate="implementation",
        keywords=("celery_", "settings.py"),
    ),
    ChecklistItem(
        number=5,
        key="shared_task",
        title="tasks use @shared_task",
        gate="implementation",
        keywords=("shared_task",),
    ),
    ChecklistItem(
        number=6,
        key="on_commit",
        title="transaction-safe dispatch with on_commit()",
        gate="implementation",
        keywords=("on_commit", "transaction"),
    ),
    ChecklistItem(
        number=7,
        key="installed_apps",
        title="results/beat apps in INSTALLED_APPS if chosen",
        gate="implementation",
        keywords=("installed_apps",),
    ),
    ChecklistItem(
        number=8,
        key="migrations",
        title="migrations applied for Celery tables",
        gate="verification",
        keywords=("migration",),
    ),
    ChecklistItem(
        number=9,
        key="env_vars",
        title="environment variables for broker/backend URLs, no secrets",
        gate="implementation",
        keywords=("environment variable", "env var", "secret"),
    ),
    ChecklistItem(
        number=10,
        key="worker_starts",
        title="worker starts with the Django project",
        gate="verification",
        keywords=("worker",),
    ),
    ChecklistItem(
        number=11,
        key="autodiscovery",
        title="task autodiscovery works across apps",
        gate="verification",
        keywords=("task autodiscovery", "registered", "across"),
    ),
)


def item(key: str) -> ChecklistItem:
    return next(i for i in CHECKLIST if i.key == key)


def result(key: str, passed: bool, evidence: str) -> CheckResult:
    """Build the CheckResult of checklist item `key`."""
    entry = item(key)
    return CheckResult(key=key, number=entry.number, title=entry.title, passed=passed, evidence=evidence)
