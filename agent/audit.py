"""`django-integrator audit PATH`: the checklist's gates and the hygiene rules on any project, writing nothing.

For a project's CI: the same code that gates an integration — libcst checks of the files, the project's
own interpreter for its settings, a live worker on the embedded broker (or the one given) — runs on the
project as it is, with the decisions its existing setup implies. Item 1 (documentation consulted) is
about an agent's run and does not apply. Nothing is written: every live process works in a temp folder,
and a manifest of the tree (content and mode of every file) taken before and after proves the project is
byte-identical — a difference is reported and fails the audit.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from pydantic import BaseModel

from agent.checklist import CHECKLIST, CheckResult
from agent.config import RunOptions
from agent.decisions import initial_decisions
from tools.django_celery.authorship import authorship
from tools.django_celery.checks import STATIC_CHECKS
from tools.django_celery.discovery import discover_project
from tools.django_celery.facts import ProjectFacts
from tools.django_celery.hygiene import hygiene_rules
from tools.django_celery.live import verify_live
from tools.django_celery.migrations import check_migrations
from tools.django_celery.project_session import project_sessions

NOT_APPLICABLE = "docs"  # item 1 is about the agent's own reading


class HygieneFinding(BaseModel):
    title: str
    status: str  # pass | fail | reported
    details: list[str]


class AuditReport(BaseModel):
    project: str
    settings_module: str
    settings_files: list[str]  # the files that make up the settings, the module first (project-relative)
    celery_app: str | None
    checklist: list[CheckResult]
    hygiene: list[HygieneFinding]
    strict: bool
    passed: bool
    changed_files: list[str]  # must stay empty: the audit writes nothing
    elapsed_s: float


def manifest(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under root (virtualenvs and node_modules aside) with its SHA-256 and mode."""
    entries: dict[str, tuple[str, int]] = {}
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = [d for d in dirs if d != "node_modules" and not (here / d / "pyvenv.cfg").is_file()]
        for name in files:
            path = here / name
            if path.is_symlink() or not path.is_file():
                continue
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            entries[str(path.relative_to(root))] = (digest, path.stat().st_mode)
    return entries


def _checklist(facts: ProjectFacts, options: RunOptions) -> list[CheckResult]:
    decisions = initial_decisions(facts, options)
    found = {check.key: check for check in (c(facts, decisions) for c in STATIC_CHECKS.values())}
    found["migrations"] = check_migrations(facts, decisions)
    if facts.existing.celery_module:
        live = verify_live(facts, decisions, broker_url=options.broker_url)
        found.update({check.key: check for check in live.checks})
    else:
        for key in ("worker_starts", "autodiscovery"):
            item = next(i for i in CHECKLIST if i.key == key)
            found[key] = CheckResult(
                key=key,
                number=item.number,
                title=item.title,
                passed=False,
                evidence="not checked: the project has no Celery app (run `django-integrator run` to add one)",
            )
    return [found[item.key] for item in CHECKLIST if item.key != NOT_APPLICABLE]


def audit_project(options: RunOptions, strict: bool = False) -> AuditReport:
    """Audit the project of `options`; raises DiscoveryError (bad input) like a run's discovery does."""
    with project_sessions():  # one project process answers discovery and the migration plan
        return _audit(options, strict)


def _audit(options: RunOptions, strict: bool) -> AuditReport:
    started = time.monotonic()
    root = Path(options.project).resolve()
    before = manifest(root)
    facts = discover_project(
        root, Path(options.python) if options.python else None, options.settings_module, options.env_files
    )
    checklist = _checklist(facts, options)
    rules = hygiene_rules(facts, initial_decisions(facts, options))
    # A rule fails for what our runs wrote or should have written; with no run of ours on the project,
    # every finding is about the project's own code, so it is reported (and fails only with --strict).
    ours = authorship(root)
    ran_here = bool(ours.created or ours.added)
    hygiene = [
        HygieneFinding(
            title=r.title,
            status=r.status if ran_here or r.status != "fail" else "reported",
            details=r.details,
        )
        for r in rules
    ]
    after = manifest(root)
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    bad_hygiene = {"fail", "reported"} if strict else {"fail"}
    passed = all(c.passed for c in checklist) and not any(h.status in bad_hygiene for h in hygiene)
    return AuditReport(
        project=str(root),
        settings_module=facts.settings_module,
        settings_files=facts.settings_files,
        celery_app=facts.existing.celery_module,
        checklist=checklist,
        hygiene=hygiene,
        strict=strict,
        passed=passed and not changed,
        changed_files=changed,
        elapsed_s=round(time.monotonic() - started, 1),
    )


def render(report: AuditReport) -> str:
    """The audit as text: items with evidence, hygiene rules with file:line, the verdict."""
    lines = [
        f"Celery audit of {report.project}",
        f"settings {report.settings_module} · Celery app {report.celery_app or 'none'}",
        "",
        "Checklist (item 1, documentation consulted, applies to a run, not an audit)",
    ]
    for check in report.checklist:
        lines += [
            f"  {'✓' if check.passed else '✗'} {check.number:>2}. {check.title}",
            f"        {check.evidence}",
        ]
    lines += ["", "Production hygiene"]
    marks = {"pass": "✓", "fail": "✗", "reported": "!"}
    for rule in report.hygiene:
        lines.append(f"  {marks[rule.status]} {rule.title}")
        lines += [f"        {detail}" for detail in rule.details]
    passed = sum(c.passed for c in report.checklist)
    findings = sum(r.status != "pass" for r in report.hygiene)
    lines += [
        "",
        f"{passed}/{len(report.checklist)} items passed · {findings} hygiene finding(s)"
        + (" (strict: findings fail)" if report.strict else "")
        + f" · {report.elapsed_s} s · "
        + (
            "project unchanged" if not report.changed_files else f"CHANGED: {', '.join(report.changed_files)}"
        ),
        "PASSED" if report.passed else "FAILED",
    ]
    return "\n".join(lines)
