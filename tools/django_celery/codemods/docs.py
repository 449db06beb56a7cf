"""Documentation for the user: `CELERY.md`, or a "Celery" section appended to the project's README.md.

The seed asks for "Django management commands for Celery"; those (`python manage.py celery worker`) came
from the retired django-celery package, so the document gives Celery's own command line and says so. It
covers running the worker and beat from the right folder, the environment variables (placeholders
only), the tasks and how to test them without a broker, and what matters in production. A README that
already has a Celery section, or an existing CELERY.md, is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from tools.django_celery.codemods.app_analysis import celery_module_path
from tools.django_celery.codemods.workspace import ProjectEdits
from tools.django_celery.facts import Decisions, ProjectFacts, ResultBackend

CELERY_DOC = "CELERY.md"
README = "README.md"
CELERY_HEADING = re.compile(r"^#{1,6}\s+Celery\b", re.MULTILINE | re.IGNORECASE)
BACKEND_TEXT: dict[str, str] = {
    "django-db": "rows of django-celery-results in the project's database (visible in the admin)",
    "django-cache": "the Django cache named by `CELERY_CACHE_BACKEND` (it must be shared between processes)",
    "redis": "Redis, at `CELERY_RESULT_BACKEND`",
    "none": "nowhere: results are ignored (`CELERY_TASK_IGNORE_RESULT = True`)",
}


@dataclass
class DocFacts:
    """What the document describes, as settled by /celery:setup."""

    backend: ResultBackend
    env: dict[str, str]  # variable -> placeholder value, as in .env.example
    tasks: dict[str, list[str]]  # tasks module -> its task / helper functions
    tests: list[str]  # generated test modules
    queues: list[str] = field(
        default_factory=list
    )  # with routing: the default queue, then the dedicated ones
    results: str = ""  # where results go when the project's own setting chooses (else BACKEND_TEXT)
    env_notes: list[str] = field(default_factory=list)  # where a URL comes from when no variable holds it


def _test_target(facts: ProjectFacts, test_module: str) -> str:
    """What `manage.py test` takes for the app of a test module: `src/shop/orders/tests/x.py` -> `shop.orders`."""
    folder = PurePosixPath(test_module).parent
    folder = folder.parent if folder.name == "tests" else folder
    if facts.base_dir not in ("", "."):
        folder = folder.relative_to(facts.base_dir)
    return ".".join(folder.parts)


def _commands(facts: ProjectFacts, decisions: Decisions, doc: DocFacts) -> list[str]:
    package = facts.celery_target
    lines = [f"celery -A {package} worker -l info"]
    if doc.queues:
        dedicated = doc.queues[1]
        lines = [
            f"celery -A {package} worker -l info -Q {','.join(doc.queues)}",
            f"# or a worker per queue: celery -A {package} worker -l info -Q {dedicated} -n {dedicated}@%h",
        ]
    if decisions.beat:
        lines.append(f"celery -A {package} beat -l info -S django  # exactly one, ever")
    lines.append(f"celery -A {package} inspect registered  # while a worker runs: its tasks")
    return lines


def render_celery_doc(facts: ProjectFacts, decisions: Decisions, doc: DocFacts, level: int = 1) -> str:
    """The document; `level` 2 when it becomes a section of the README."""
    h1, h2 = "#" * level, "#" * (level + 1)
    where = "the project root" if facts.base_dir in ("", ".") else f"`{facts.base_dir}/`"
    settings = facts.celery_settings_file
    env_rows = [f"| `{name}` | `{value}` |" for name, value in doc.env.items()]
    task_lines = [
        f"- `{module}`: {', '.join(f'`{f}`' for f in functions)}" for module, functions in doc.tasks.items()
    ]
    test_labels = " ".join(sorted({_test_target(facts, path) for path in doc.tests})) or "<app>"
    lines = [
        f"{h1} Celery",
        "",
        f"Background tasks of `{facts.project_package}` run on [Celery](https://docs.celeryq.dev/). Settings are",
        f"the `CELERY_*` block of `{settings}`; the app is `{celery_module_path(facts)}`.",
        "",
        f"{h2} Run the worker{' and beat' if decisions.beat else ''}",
        "",
        f"From the folder that holds `manage.py` ({where}), with the environment below set:",
        "",
        "```sh",
        *_commands(facts, decisions, doc),
        "```",
        "",
        "The `python manage.py celery worker` / `celery inspect` commands found in older guides came from",
        "the retired django-celery package (Celery 3); Celery's own `celery -A <project>` command replaces",
        "them and Celery adds no management commands.",
        "",
        f"{h2} Environment variables",
        "",
        "Copy `.env.example` to `.env` (never commit `.env`) or set them in the service's environment:",
        "",
        *(["| variable | placeholder |", "| --- | --- |", *env_rows, ""] if env_rows else []),
        *(f"- {note}" for note in doc.env_notes),
        *([""] if doc.env_notes else []),
        "Put real credentials only there, never in settings or code.",
        f"Results are stored in {doc.results or BACKEND_TEXT[doc.backend]}.",
        "",
        f"{h2} Tasks",
        "",
        *(task_lines or ["- none yet: add `tasks.py` to an app and decorate functions with `@shared_task`"]),
        "",
        "Pass primary keys, never model instances, and send tasks only after the transaction commits:",
        "`task.delay_on_commit(pk)` or `transaction.on_commit(partial(task.delay, pk))`.",
        "",
        f"{h2} Tests",
        "",
        f"`python manage.py test {test_labels}` (or `pytest` with pytest-django) runs "
        + (", ".join(f"`{t}`" for t in doc.tests) or "the task tests")
        + ". No broker is needed: the",
        "tests run tasks eagerly with `override_settings(CELERY_TASK_ALWAYS_EAGER=True)` and play COMMIT",
        "with `captureOnCommitCallbacks(execute=True)`. Never turn `CELERY_TASK_ALWAYS_EAGER` on in",
        "settings used outside tests: tasks would run inside the web request.",
        "",
        f"{h2} Production notes",
        "",
        "- Run exactly one beat process; two would send every periodic task twice."
        if decisions.beat
        else "- Periodic tasks: add django-celery-beat and run exactly one beat process.",
        "- Run the worker as an unprivileged user (the service manager's `User=`), never as root.",
        "- Prefork workers open one database connection per child process: with `CONN_MAX_AGE` or",
        "  Django's connection pool, size it so that workers x concurrency x pool size stays below the",
        "  database's connection limit, or put PgBouncer in front.",
        "- Tasks must be idempotent: a message can be delivered twice. Time limits",
        "  (`CELERY_TASK_SOFT_TIME_LIMIT` < `CELERY_TASK_TIME_LIMIT`) stop runaway tasks; prefetch is 1",
        "  so a long task never holds others back.",
        *(
            [
                "- Stored results expire (`CELERY_RESULT_EXPIRES`): beat runs `celery.backend_cleanup` daily to",
                "  delete them"
                + (
                    "."
                    if decisions.beat
                    else f"; without beat, run `celery -A {facts.celery_target} call celery.backend_cleanup` "
                    "daily (cron)."
                ),
            ]
            if doc.backend == "django-db"
            else []
        ),
        "- Use the `CELERY_`-prefixed setting names only. Pre-4.0 names (`CELERY_ALWAYS_EAGER`, `BROKER_URL`)",
        "  still work as fallbacks in Celery 5 but are deprecated and removed in Celery 6.",
    ]
    return "\n".join(lines) + "\n"


def ensure_celery_doc(edits: ProjectEdits, facts: ProjectFacts, decisions: Decisions, doc: DocFacts) -> None:
    """Append a Celery section to README.md when there is one, else write CELERY.md; never twice."""
    readme = edits.read(README)
    if readme is not None:
        if CELERY_HEADING.search(readme):
            edits.note(README, "kept: it already has a Celery section")
            return
        separator = "" if readme.endswith("\n\n") else "\n" if readme.endswith("\n") else "\n\n"
        section = render_celery_doc(facts, decisions, doc, level=2)
        edits.write(README, readme + separator + section, "added a Celery section (commands, env, tests)")
        return
    if edits.exists(CELERY_DOC):
        edits.note(CELERY_DOC, "kept as it is")
        return
    edits.write(CELERY_DOC, render_celery_doc(facts, decisions, doc), "worker/beat commands, env, tests")
