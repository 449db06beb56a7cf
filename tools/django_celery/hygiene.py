"""Production hygiene of the Celery code and settings: one check (numbered 0, key "hygiene"), one entry per rule.

Settings rules: current CELERY_ names only; no broker/backend password in code; broker/backend URLs from the
environment; CELERY_TIMEZONE consistent with TIME_ZONE / USE_TZ; task_always_eager off outside tests; JSON
only; soft time limit below the hard one; prefetch multiplier 1; results that expire. Task rules, for every
task in the apps' tasks.py: an explicit name; primary keys as arguments; automatic retries only for named
exceptions, with backoff and a ceiling; logging through get_task_logger. Each entry is ✓ or ✗ with file:line
evidence; what the project already had is "reported", only what this tool wrote (or failed to write) fails
the check.
"""

from __future__ import annotations

from pathlib import Path

from agent.checklist import CheckResult
from tools.django_celery.authorship import authorship
from tools.django_celery.codemods.settings_chain import project_chain
from tools.django_celery.codemods.source import disk_reader
from tools.django_celery.facts import Decisions, ProjectFacts
from tools.django_celery.hygiene_rules import Rule, SettingsRules
from tools.django_celery.hygiene_tasks import (
    bounded_retries,
    explicit_names,
    primary_keys,
    task_functions,
    task_logging,
    task_time_limits,
)

TITLE = "production hygiene of the Celery settings and tasks"


def hygiene_rules(facts: ProjectFacts, decisions: Decisions) -> list[Rule]:
    root = Path(facts.root)
    reader = disk_reader(root)
    wrote = authorship(root)
    settings = SettingsRules(facts, decisions, project_chain(facts, reader), wrote)
    limits, hard_limit = settings.time_limits()
    tasks = task_functions(facts, reader, wrote)
    task_time_limits(tasks, limits, hard_limit)
    return [
        settings.new_names(),
        settings.no_password(reader),
        settings.urls_from_environment(),
        settings.timezone(),
        settings.eager_off(),
        settings.json_only(),
        limits,
        settings.prefetch(),
        settings.results_expire(),
        explicit_names(tasks),
        primary_keys(tasks, facts),
        bounded_retries(tasks),
        task_logging(tasks),
    ]


def check_hygiene(facts: ProjectFacts, decisions: Decisions) -> CheckResult:
    rules = hygiene_rules(facts, decisions)
    return CheckResult(
        key="hygiene",
        number=0,
        title=TITLE,
        passed=all(rule.status != "fail" for rule in rules),
        evidence=" | ".join(rule.line() for rule in rules),
    )
