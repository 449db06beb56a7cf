"""The static checklist checks (items 2-7 and 9): read the project's files, never import them.

Each check is `(facts, decisions) -> CheckResult` and its evidence names file:line and what was found,
specific enough to act on. They share the analysis of the codemods (`codemods.app_analysis`,
`codemods.settings_chain`), so "what does celery.py / settings have" is decided in one place.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

from agent.checklist import CheckResult, result
from tools.django_celery.authorship import authorship
from tools.django_celery.backend_text import backend_kind
from tools.django_celery.codemods.app_analysis import (
    DJANGO_SETTINGS_SOURCES,
    app_module_stem,
    celery_module_path,
    init_module_path,
    read_celery_module,
    read_init,
    settings_module_problem,
)
from tools.django_celery.codemods.env_files import ENV_EXAMPLE, GITIGNORE
from tools.django_celery.codemods.env_urls import CONSENT_FLAG
from tools.django_celery.codemods.installed_apps import celery_apps
from tools.django_celery.codemods.secret_scan import Finding, added_lines, gitignore_ignores, scan_text
from tools.django_celery.codemods.settings_chain import project_chain
from tools.django_celery.codemods.source import disk_reader
from tools.django_celery.codemods.tasks_module import tasks_path
from tools.django_celery.codemods.url_passwords import has_url_password
from tools.django_celery.codemods.url_sources import URL_SETTINGS, UrlSource, url_sources
from tools.django_celery.facts import Decisions, ProjectFacts
from tools.django_celery.old_setting_names import OLD_TO_NAMESPACED
from tools.django_celery.process_files import beat_scheduler_on_command_line
from tools.django_celery.project_scan import dispatch_sites, parse_python, walk_files
from tools.django_celery.task_modules import celery_tasks, tasks_module_owner
from tools.journal import Journal
from tools.sandbox import relative_to_project

Check = Callable[[ProjectFacts, Decisions], CheckResult]
UNSAFE_CONTEXTS = {
    "atomic": "inside transaction.atomic()",
    "save": "inside a model's save() (runs in the caller's transaction)",
    "receiver": "inside a signal receiver (runs in the sender's transaction)",
}


def _evidence(problems: list[str], found: list[str]) -> str:
    return "; ".join([*(f"PROBLEM {p}" for p in problems), *found]) or "nothing found"


def check_celery_module(facts: ProjectFacts, decisions: Decisions) -> CheckResult:
    reader = disk_reader(Path(facts.root))
    info = read_celery_module(facts, reader)
    if info is None:
        return result(
            "celery_module", False, f"{celery_module_path(facts)} does not exist (run /celery:setup)"
        )
    problems, found = [], []
    if info.app is None:
        problems.append(f"{info.source.rel}: no `app = Celery(...)` at module level")
    else:
        found.append(f"{info.app.where}: {info.app_variable} = Celery(...)")
    if info.setdefault is None:
        problems.append("DJANGO_SETTINGS_MODULE is never set before the app is created")
    else:
        where = info.setdefault.where
        issue = (
            None
            if info.settings_module_computed
            else settings_module_problem(info.settings_module, facts, reader)
        )
        if issue:
            problems.append(f"{where}: {issue}")
        elif not info.setdefault_first:
            problems.append(f"{where}: DJANGO_SETTINGS_MODULE is set after Celery() is created")
        elif info.settings_module_computed:
            found.append(
                f"{where}: DJANGO_SETTINGS_MODULE defaults to a computed value (not checked statically)"
            )
        else:
            found.append(f"{where}: DJANGO_SETTINGS_MODULE defaults to {info.settings_module}")
    if info.config is None:
        problems.append("no config_from_object(...): Django settings are not read")
    elif info.config_source not in DJANGO_SETTINGS_SOURCES or info.namespace != "CELERY":
        problems.append(
            f"{info.config.where}: config_from_object reads {info.config_source!r} with namespace "
            f"{info.namespace!r}; expected 'django.conf:settings' with namespace 'CELERY'"
        )
    else:
        found.append(f'{info.config.where}: config_from_object("django.conf:settings", namespace="CELERY")')
    if info.autodiscover is None:
        problems.append("no autodiscover_tasks(): tasks.py modules are never imported by the worker")
    elif info.legacy_autodiscover:
        problems.append(
            f"{info.autodiscover.where}: autodiscover_tasks({info.autodiscover_args}) finds nothing for "
            "apps listed as AppConfig paths; call autodiscover_tasks() without arguments"
        )
    else:
        found.append(f"{info.autodiscover.where}: autodiscover_tasks({info.autodiscover_args or ''})")
    return result("celery_module", not problems, _evidence(problems, found))


def check_init_loads_app(facts: ProjectFacts, decisions: Decisions) -> CheckResult:
    reader = disk_reader(Path(facts.root))
    celery = read_celery_module(facts, reader)
    variable = (celery.app_variable if celery else None) or "app"
    info = read_init(facts, reader, variable)
    if info is None:
        return result("init_loads_app", False, f"{init_module_path(facts)} does not exist")
    rel = info.source.rel
    if info.exported is None:
        stem = app_module_stem(facts)
        return result("init_loads_app", False, f"{rel} does not import {variable} from .{stem}")
    if not info.exports_app:
        where = info.all_where or rel
        return result(
            "init_loads_app", False, f"{info.import_where}: imports the app, but {where}: __all__ lacks it"
        )
    return result(
        "init_loads_app",
        True,
        f"{info.import_where}: imports {variable} as {info.exported}; {info.all_where}: __all__ lists it",
    )


def check_celery_settings(facts: ProjectFacts, decisions: Decisions) -> CheckResult:
    chain = project_chain(facts, disk_reader(Path(facts.root)))
    problems, found = [], []
    broker = chain.assignments("CELERY_BROKER_URL") or chain.assignments("BROKER_URL")
    if broker:
        found.append(f"{broker[-1].where}: {broker[-1].name} = {broker[-1].code}")
    else:
        problems.append("CELERY_BROKER_URL is not set: Celery would fall back to AMQP on localhost")
    for assignment in (a for f in chain.files for a in f.assignments if a.name in OLD_TO_NAMESPACED):
        # Celery 5 still reads a deprecated name (CELERY_ALWAYS_EAGER, BROKER_URL) as a fallback; it is a
        # failure only when renaming was consented to and did not happen, else reported (hygiene lists it).
        message = (
            f"{assignment.where}: {assignment.name} is deprecated; use {OLD_TO_NAMESPACED[assignment.name]}"
        )
        if decisions.rename_settings:
            problems.append(message)
        else:
            found.append(f"{message} (kept: renaming needs consent)")
    backend = chain.assignments("CELERY_RESULT_BACKEND")
    wanted = decisions.result_backend
    if wanted != "none":
        kind = backend_kind(backend[-1], chain) if backend else None
        if not backend:
            problems.append(f"CELERY_RESULT_BACKEND is not set (chosen: {wanted})")
        elif kind not in (wanted, None):
            problems.append(f"{backend[-1].where}: CELERY_RESULT_BACKEND selects {kind}, chosen: {wanted}")
        else:
            found.append(f"{backend[-1].where}: CELERY_RESULT_BACKEND = {backend[-1].code}")
    if decisions.beat and not chain.is_set("CELERY_BEAT_SCHEDULER"):
        given = beat_scheduler_on_command_line(Path(facts.root))
        if given:
            found.append(f"{given} (CELERY_BEAT_SCHEDULER not set: the command line chooses it)")
        else:
            problems.append("beat chosen but CELERY_BEAT_SCHEDULER is not set (beat would use a local file)")
    names = sorted(n for n in chain.names() if n.startswith("CELERY_"))
    found.append(f"{len(names)} CELERY_* settings in {', '.join(f.source.rel for f in chain.files)}")
    return result("celery_settings", not problems, _evidence(problems, found))


def check_shared_task(facts: ProjectFacts, decisions: Decisions) -> CheckResult:
    if not decisions.task_apps:
        return result("shared_task", True, "no app was chosen to hold tasks")
    problems, found = [], []
    reader = disk_reader(Path(facts.root))
    for label in decisions.task_apps:
        app = facts.app(label)
        if app is None:
            problems.append(f"{label}: not an app of the project")
            continue
        rel = tasks_path(app)
        text = reader(rel)
        if text is None:
            problems.append(f"{rel} does not exist")
            continue
        tasks = celery_tasks(facts, rel, text, reader)
        if not tasks and tasks_module_owner(facts, app, reader) == "other":
            problems.append(
                f"{rel}: holds no Celery task and does not import Celery (another task queue's module, or "
                "plain functions); it is never rewritten: choose another app for Celery's tasks (--apps)"
            )
        elif not tasks:
            problems.append(f"{rel}: no function decorated as a Celery task")
        for task in tasks:
            if task.kind == "shared_task":
                found.append(f"{task.where}: {task.function} uses @{task.decorator}")
            elif task.kind == "wrapper":
                found.append(
                    f"{task.where}: {task.function} uses @{task.decorator}, which applies @shared_task"
                )
            elif task.kind == "project_app":
                found.append(
                    f"{task.where}: {task.function} uses @{task.decorator} of the project's app (also fine)"
                )
            else:
                problems.append(f"{task.where}: {task.function} uses @{task.decorator}; use @shared_task")
    return result("shared_task", not problems, _evidence(problems, found))


def _deferred_calls(root: Path) -> list[str]:
    """`task.delay_on_commit(...)` / `apply_async_on_commit(...)` uses (Celery 5.4+), as "path:line"."""
    found = []
    for file in walk_files(root):
        tree = parse_python(file) if b"_on_commit" in file.read_bytes() else None
        for node in ast.walk(tree) if tree is not None else ():
            if isinstance(node, ast.Attribute) and node.attr in ("delay_on_commit", "apply_async_on_commit"):
                found.append(f"{relative_to_project(root, file)}:{node.lineno}")
    return found


def check_on_commit(facts: ProjectFacts, decisions: Decisions) -> CheckResult:
    """Item 6. An unsafe site this tool wrote always fails the item. One in the user's own code fails it when
    the user consented to rewriting it (and it is still there); without consent it is reported, as
    /celery:setup did, and does not fail it."""
    root = Path(facts.root)
    sites = dispatch_sites(root)
    ours = authorship(root)
    unsafe_sites = [
        (s, f"{s.location}: {s.call} {UNSAFE_CONTEXTS[c]}")
        for s in sites
        if "on_commit" not in s.contexts
        for c in [next((c for c in s.contexts if c in UNSAFE_CONTEXTS), "")]
        if c
    ]
    written = [
        f"{text}: written by this tool, and can run before COMMIT (DoesNotExist) or after a rollback"
        for s, text in unsafe_sites
        if ours.wrote(s.location)
    ]
    unsafe = [text for s, text in unsafe_sites if not ours.wrote(s.location)]
    safe = [
        f"{s.location}: {s.call} deferred by transaction.on_commit"
        for s in sites
        if "on_commit" in s.contexts
    ]
    safe += [f"{where}: delay_on_commit" for where in _deferred_calls(root)]
    risky = [f"{u}: can run before COMMIT (DoesNotExist) or after a rollback" for u in unsafe]
    problems = written + (risky if decisions.rewrite_dispatch else [])
    if not safe and not written:  # the user's unconsented sites are reported, never held against the item
        safe = _delay_on_commit_available(facts, len(sites), len(unsafe))
    if not safe and decisions.dispatch != "immediate":
        problems.append("no transaction.on_commit(...) or delay_on_commit(...) dispatch in the project")
    found = safe if decisions.dispatch != "immediate" else [*safe, "immediate dispatch was chosen"]
    if not decisions.rewrite_dispatch:
        found += [f"REPORTED {r} (not rewritten: needs consent, --rewrite-dispatch)" for r in risky]
    return result("on_commit", not problems, _evidence(problems, found))


def _delay_on_commit_available(facts: ProjectFacts, sites: int, unsafe: int) -> list[str]:
    """Evidence that tasks can be dispatched after COMMIT when no dispatch of ours runs inside a transaction.

    A project whose tasks are sent only outside transactions (cookiecutter-django's sample task, sent
    from its test) has nothing to make safe; one whose own code sends inside a transaction (pretalx's
    signal receivers) gets those sites reported, rewritten only with consent. Either way what matters is
    that the safe call is there for the first caller that wants it. With
    DJANGO_SETTINGS_MODULE set before Celery() is created, Celery's Django fixup makes every task a
    DjangoTask, whose delay_on_commit() defers the send to transaction.on_commit.
    """
    info = read_celery_module(facts, disk_reader(Path(facts.root)))
    if info is None or info.app is None or not info.setdefault_first:
        return []
    inside = (
        f"{unsafe} inside a transaction (reported: yours to defer)" if unsafe else "none inside a transaction"
    )
    sent = f"{sites} dispatch(es), {inside}" if sites else "no dispatch yet"
    return [
        f"{sent}; {info.app.where}: {info.app_variable} = "
        "Celery(...) is created after DJANGO_SETTINGS_MODULE is set, so every task is a DjangoTask with "
        "delay_on_commit()"
    ]


def check_installed_apps(facts: ProjectFacts, decisions: Decisions) -> CheckResult:
    needed = celery_apps(decisions.result_backend, decisions.beat)
    if not needed:
        return result(
            "installed_apps", True, "neither django_celery_results nor django_celery_beat is needed"
        )
    chain = project_chain(facts, disk_reader(Path(facts.root)))
    problems, found = [], []
    for app in needed:
        entry = chain.listing_of(app)
        if entry is None:
            problems.append(
                f"{app} is not in INSTALLED_APPS ({', '.join(f.source.rel for f in chain.files)})"
            )
        else:
            found.append(f"{entry.where}: {entry.app}")
    return result("installed_apps", not problems, _evidence(problems, found))


def _journal_findings(root: Path) -> tuple[list[Finding], set[str]]:
    """Secrets in the lines our runs wrote (runs not undone), and the files those runs touched."""
    findings: list[Finding] = []
    touched: set[str] = set()
    for journal in Journal.runs_for(root):
        if journal.index.status == "rolled_back":
            continue
        for entry in journal.index.entries:
            current = root / entry.path
            if entry.path in touched or not current.is_file():
                continue
            touched.add(entry.path)
            try:
                text = current.read_bytes().decode("utf-8")
                original = (journal.original_bytes(entry) or b"").decode("utf-8")
            except UnicodeDecodeError:
                continue  # binary (e.g. the SQLite database): not text we wrote
            findings += scan_text(entry.path, text, added_lines(original, text))
    return findings, touched


def check_env_vars(facts: ProjectFacts, decisions: Decisions) -> CheckResult:
    """Item 9. A URL written in the code fails it when this tool wrote it, when it holds a password (that is a
    secret in the repository: --fix-url-passwords), or when the user consented to reading it from the
    environment and it is still there; a development default in the user's own code is reported."""
    root = Path(facts.root)
    reader = disk_reader(root)
    chain = project_chain(facts, reader)
    ours = authorship(root)
    problems, found = [], []
    for name in URL_SETTINGS:
        sources = url_sources(chain, name)
        from_env = [s for s in sources if s.kind == "environment"]
        hard_coded = [s for s in sources if s.is_literal_url]
        if from_env:
            found.append(
                f"{from_env[-1].assignment.where}: {name} read from the environment{_variables(from_env)}"
            )
        elif hard_coded:
            last = hard_coded[-1].assignment
            if decisions.env_urls or ours.wrote(last.where) or has_url_password(hard_coded[-1].literal or ""):
                problems.append(f"{last.where}: {name} is hard-coded; read it from the environment")
            else:
                found.append(
                    f"REPORTED {last.where}: {last.name} = {last.code} is written in your code, not read from the "
                    f"environment (not changed: reading it from {name}, this value kept as the default, needs "
                    f"consent, {CONSENT_FLAG})"
                )
        elif sources:  # "django-db" names a backend (no URL); pretalx's config.get(...) is its config layer
            last = sources[-1]
            how = "no URL to read" if last.kind == "literal" else "set by the project's own code at run time"
            found.append(f"{last.assignment.where}: {name} = {last.assignment.code} ({how})")
        elif name == "CELERY_BROKER_URL":
            problems.append("CELERY_BROKER_URL is not set")
    findings, touched = _journal_findings(root)
    for rel in (ENV_EXAMPLE, celery_module_path(facts)):
        text = reader(rel)
        if text is not None and rel not in touched:
            findings += scan_text(rel, text)
    problems += [f"{f}: secrets belong in the environment / .env, never in files" for f in findings]
    found.append(f"secret scan: {len(touched)} file(s) written by this tool, {ENV_EXAMPLE}, celery.py")
    gitignore = reader(GITIGNORE)
    if gitignore is None or not gitignore_ignores(gitignore, ".env"):
        problems.append(f"{GITIGNORE} does not ignore .env")
    elif gitignore_ignores(gitignore, ENV_EXAMPLE):
        problems.append(f"{GITIGNORE} ignores {ENV_EXAMPLE} too (add !{ENV_EXAMPLE} after the .env rules)")
    else:
        found.append(f"{GITIGNORE} ignores .env but not {ENV_EXAMPLE}")
    if reader(ENV_EXAMPLE) is None:
        problems.append(f"{ENV_EXAMPLE} is missing at the project root")
    return result("env_vars", not problems, _evidence(problems, found))


def _variables(sources: list[UrlSource]) -> str:
    names = list(dict.fromkeys(read.variable for source in sources for read in source.reads))
    return f" ({', '.join(names)})" if names else ""


STATIC_CHECKS: dict[str, Check] = {
    "celery_module": check_celery_module,
    "init_loads_app": check_init_loads_app,
    "celery_settings": check_celery_settings,
    "shared_task": check_shared_task,
    "on_commit": check_on_commit,
    "installed_apps": check_installed_apps,
    "env_vars": check_env_vars,
}
