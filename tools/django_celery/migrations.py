"""Migrations for the Celery apps, run with `manage.py` in the project's own interpreter.

Before migrating, a SQLite database that lives inside the project is backed up through the journal, so
`undo` puts it back byte for byte (or deletes it when the migration created it). Other databases cannot
be rolled back that way; the message says so.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

from agent.checklist import CheckResult, result
from tools.base import ToolError
from tools.context import ToolContext
from tools.django_celery.answer_memo import answer_key, remembered
from tools.django_celery.backend_text import project_backend_description
from tools.django_celery.codemods.installed_apps import celery_apps
from tools.django_celery.facts import Decisions, ProjectFacts
from tools.django_celery.project_env import base_dir_of, facts_env, run_manage
from tools.sandbox import PathEscapeError, relative_to_project, resolve_in_project

PLAN_LINE = re.compile(r"^\[(?P<state>[ X-])\]\s+(?P<label>\w+)\.(?P<name>\S+)")
TAIL_LINES = 15


def _tail(process: subprocess.CompletedProcess[str]) -> str:
    lines = (process.stdout + process.stderr).strip().splitlines()
    return "\n".join(lines[-TAIL_LINES:])


def _fix_hint(output: str, facts: ProjectFacts) -> str:
    missing = re.search(r"No module named '([\w.]+)'", output)
    if missing:
        package = missing.group(1).split(".")[0].replace("_", "-")
        return (
            f"Fix: install it into the project's interpreter ({facts.interpreter} -m pip install {package}, "
            "or install the project's updated dependencies), then run this again."
        )
    return "Fix: correct the error above (often a settings problem; `manage.py check` shows it), then retry."


def migration_plan(facts: ProjectFacts) -> list[tuple[str, str, bool]]:
    """(app label, migration name, applied) for every migration of the installed apps, in plan order.

    A SQLite database inside the project is part of the project's content digest, so its plan is asked
    again only when a file (the database included) changed; any other database can change behind the
    tree's back (a `migrate` run by a Bash command), so its plan is always asked afresh.
    """
    if _project_sqlite_file(facts) is None:
        return _showmigrations_plan(facts)
    root = Path(facts.root).resolve()
    key, tree = answer_key(
        "migration plan", facts.interpreter, root, facts_env(facts), facts.env_files,
        str(base_dir_of(facts)), facts.settings_module,
    )  # fmt: skip
    return remembered(key, tree, root, lambda: _showmigrations_plan(facts))


def _showmigrations_plan(facts: ProjectFacts) -> list[tuple[str, str, bool]]:
    """`showmigrations --plan`, read. It opens a connection, and SQLite creates a missing database file on
    connect: an empty file it left where there was none is removed again, so a read (a gate, an audit, a
    run that then fails) never leaves a database the project did not have."""
    sqlite = _sqlite_file(facts)
    absent = sqlite is not None and not sqlite.exists()
    try:
        process = run_manage(facts, "showmigrations", "--plan", timeout=180)
    finally:
        if absent and sqlite is not None and sqlite.is_file() and sqlite.stat().st_size == 0:
            sqlite.unlink()
    if process.returncode != 0:
        output = _tail(process)
        raise ToolError(
            f"`manage.py showmigrations --plan` failed (exit {process.returncode}):\n{output}\n"
            + _fix_hint(output, facts)
        )
    plan = []
    for line in process.stdout.splitlines():
        match = PLAN_LINE.match(line.strip())
        if match:
            plan.append((match["label"], match["name"], match["state"] == "X"))
    return plan


def pending_migrations(facts: ProjectFacts) -> list[str]:
    """Unapplied migrations as "label.name", in the order `migrate` would apply them."""
    return [f"{label}.{name}" for label, name, applied in migration_plan(facts) if not applied]


def _sqlite_file(facts: ProjectFacts) -> Path | None:
    """The SQLite database file of the default database, wherever it lives; None for other engines."""
    if not facts.database_engine.endswith("sqlite3") or not facts.database_name:
        return None
    if facts.database_name in (":memory:", "") or facts.database_name.startswith("file:"):
        return None
    return Path(facts.database_name)


def _project_sqlite_file(facts: ProjectFacts) -> Path | None:
    """The SQLite database file when it lives inside the project (the only kind undo can restore)."""
    database = _sqlite_file(facts)
    if database is None:
        return None
    try:
        return resolve_in_project(Path(facts.root), database)
    except PathEscapeError:
        return None


def apply_migrations(ctx: ToolContext, app_labels: list[str]) -> str:
    """Migrate the given apps when they have pending migrations; says what was applied."""
    if ctx.facts is None:
        raise ToolError("No project facts yet: run discovery first.")
    facts = ctx.facts
    plan = migration_plan(facts)
    known = {label for label, _, _ in plan}
    absent = [label for label in app_labels if label not in known]
    if absent:
        raise ToolError(
            f"{', '.join(absent)} has no migrations in `showmigrations --plan`: the app is not in INSTALLED_APPS "
            "(or not installed in the project's interpreter). Add it, then migrate."
        )
    pending = [f"{label}.{name}" for label, name, applied in plan if label in app_labels and not applied]
    if not pending:
        return f"Migrations: nothing pending for {', '.join(app_labels)}; the database was not touched."
    database = _project_sqlite_file(facts)
    if database is not None:
        ctx.journal.backup(database)
    for label in dict.fromkeys(m.split(".")[0] for m in pending):
        process = run_manage(facts, "migrate", label, "--noinput", timeout=600)
        if process.returncode != 0:
            output = _tail(process)
            raise ToolError(
                f"`manage.py migrate {label}` failed (exit {process.returncode}):\n{output}\n"
                + _fix_hint(output, facts)
            )
    if database is not None:
        undo = f"{relative_to_project(Path(facts.root), database)} was backed up first; undo restores it"
    else:
        undo = f"the {facts.database_engine.rsplit('.', 1)[-1]} database is outside the journal: undo cannot revert it"
    counts = ", ".join(f"{label} ({n})" for label, n in Counter(m.split(".")[0] for m in pending).items())
    return f"Migrations: applied {len(pending)} migrations of {counts}; {undo}."


def check_migrations(facts: ProjectFacts, decisions: Decisions) -> CheckResult:
    """Checklist item 8: every migration of the chosen Celery apps is applied."""
    needed = celery_apps(decisions.result_backend, decisions.beat)
    if not needed:
        return result(
            "migrations",
            True,
            f"No Celery app with database tables was chosen "
            f"({project_backend_description(facts, decisions.result_backend)}, no beat): nothing to migrate.",
        )
    try:
        plan = migration_plan(facts)
    except ToolError as exc:
        return result("migrations", False, str(exc))
    problems, found = [], []
    for label in needed:
        migrations = [(name, applied) for app, name, applied in plan if app == label]
        pending = [name for name, applied in migrations if not applied]
        if not migrations:
            problems.append(f"{label}: no migrations in the plan (not in INSTALLED_APPS or not installed)")
        elif pending:
            problems.append(
                f"{label}: {len(pending)} not applied ({', '.join(pending)}); run manage.py migrate"
            )
        else:
            found.append(f"{label}: all {len(migrations)} applied")
    evidence = "; ".join(problems + found) + " (manage.py showmigrations --plan)"
    return result("migrations", not problems, evidence)
