"""Gates: after each phase, the checklist items that phase owns are checked by code, not by the model.

Discovery, analysis and planning check their own outputs (items numbered 0) plus item 1 for discovery;
implementation runs the static libcst checks; verification runs migrations and a live worker.

The checks themselves take the project's facts and the decisions, not the graph's state, and this module
imports nothing of LangGraph: the no-op fast path (`agent.noop_run`) runs the same `project_found`,
`static_checks` and `check_migrations` without building a graph.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urldefrag

from agent.checklist import CheckResult, result
from agent.config import RunOptions
from agent.decisions import CONSENT_TOPICS
from agent.live_reuse import (
    VerifiedLive,
    definition_digest,
    live_key,
    noop_key,
    reusable,
    reused_checks,
    settle_record,
)
from agent.plan_coverage import uncovered_items
from tools.context import Ledger
from tools.django_celery.backend_text import project_backend_description
from tools.django_celery.checks import STATIC_CHECKS
from tools.django_celery.dependencies_install import dependencies_check
from tools.django_celery.discovery import discover_project
from tools.django_celery.facts import Decisions, ProjectFacts
from tools.django_celery.hygiene import check_hygiene
from tools.django_celery.live import verify_live
from tools.django_celery.live_routes import verify_routes_live
from tools.django_celery.migrations import check_migrations
from tools.django_celery.project_tests import SuiteRun, project_tests_check, run_project_tests
from tools.django_celery.routing_check import check_routing, routing_applies
from tools.journal import run_dir

if TYPE_CHECKING:
    from agent.state import RunContext, RunState

QUESTION_TOPICS = ("task_apps", "beat", "result_backend")


def own_output(key: str, title: str, passed: bool, evidence: str) -> CheckResult:
    return CheckResult(key=key, number=0, title=title, passed=passed, evidence=evidence)


def _url(url: str) -> str:
    return urldefrag(url)[0].rstrip("/")


def check_docs(state: RunState, context: RunContext) -> CheckResult:
    ledger = Ledger.model_validate(state.get("ledger") or {})
    consulted = {_url(d.url): d.source for d in ledger.docs}
    required = [
        d.target
        for d in context.definition.phase("discovery").directives
        if d.kind == "web_fetch" and d.when is None
    ]
    missing = [u for u in required if _url(u) not in consulted]
    listing = "; ".join(f"{url} ({source})" for url, source in consulted.items()) or "none"
    if required:
        return result(
            "docs",
            not missing,
            f"consulted: {listing}" + (f"; not consulted: {', '.join(missing)}" if missing else ""),
        )
    return result(
        "docs", bool(consulted or ledger.skills), f"consulted: {listing}; skills loaded: {ledger.skills}"
    )


def discovery_gate(state: RunState, context: RunContext) -> list[CheckResult]:
    return [project_found(ProjectFacts.model_validate(state["facts"])), check_docs(state, context)]


def project_found(facts: ProjectFacts) -> CheckResult:
    """Discovery's own output: a Django project with its settings, version, database and apps."""
    found = [
        f"manage.py at {facts.manage_py}",
        f"settings {facts.settings_module} ({', '.join(facts.settings_files)})",
        f"Django {facts.django_version}",
        f"database {facts.database_engine}",
        f"apps: {', '.join(a.label for a in facts.apps) or 'none'}",
        f"existing Celery: {facts.existing.celery_module or 'none'}",
    ]
    complete = bool(
        facts.manage_py and facts.settings_module and facts.django_version and facts.database_engine
    )
    return own_output("project_found", "a Django project was found", complete, "; ".join(found))


def analysis_gate(state: RunState, context: RunContext) -> list[CheckResult]:
    options = RunOptions.model_validate(state["options"])
    decisions = Decisions.model_validate(state["decisions"])
    acceptable = {"flag", "asked", "existing"} | ({"default"} if not options.interactive else set())
    unsettled = [t for t in QUESTION_TOPICS if decisions.sources.get(t) not in acceptable]
    made = ", ".join(
        f"{t}={decisions.sources.get(t)}" for t in (*QUESTION_TOPICS, "dispatch", "queues", *CONSENT_TOPICS)
    )
    facts = ProjectFacts.model_validate(state["facts"])
    results = [
        dependencies_check(facts, decisions, run_dir(state["run_id"], context.home)),
        own_output(
            "decisions",
            "the decision framework's choices were made",
            not unsettled,
            f"{project_backend_description(facts, decisions.result_backend)}, beat {decisions.beat}, "
            f"dispatch {decisions.dispatch}, "
            f"apps {decisions.task_apps}, queues {decisions.queues or 'none'}, rewrite unsafe dispatch "
            f"{decisions.rewrite_dispatch}, rename old settings {decisions.rename_settings} (sources: {made})"
            + (f"; still to ask the user: {', '.join(unsettled)}" if unsettled else ""),
        ),
    ]
    ledger = Ledger.model_validate(state.get("ledger") or {})
    for directive in context.definition.phase("analysis").directives:
        if directive.kind != "slash_command":
            continue
        name = directive.target.split()[0]
        runs = [c for c in ledger.commands if c.command == name]
        ok = any(c.ok for c in runs)
        evidence = f"{name} ran {'successfully' if ok else 'with errors' if runs else 'not at all'}"
        results.append(own_output("setup_ran", f"{name} was run", ok, evidence))
    return results


def planning_gate(state: RunState, context: RunContext) -> list[CheckResult]:
    """The plan must cover the selected agent's own checklist (our Django items only for a Django one)."""
    ledger = Ledger.model_validate(state.get("ledger") or {})
    steps = [t.content for t in ledger.todos]
    uncovered = uncovered_items(steps, context.definition.checklist)
    evidence = f"{len(steps)} plan steps" + (
        "; no step for: " + "; ".join(uncovered) if uncovered else ", every item covered"
    )
    return [
        own_output("plan", "the plan covers every checklist item", bool(steps) and not uncovered, evidence)
    ]


def implementation_gate(state: RunState, context: RunContext) -> list[CheckResult]:
    return static_checks(_fresh_facts(state), Decisions.model_validate(state["decisions"]))


def static_checks(facts: ProjectFacts, decisions: Decisions) -> list[CheckResult]:
    """Items 2–7 and 9 by libcst and the secret scan, the hygiene rules and, with queues, the routes."""
    results = [check(facts, decisions) for check in STATIC_CHECKS.values()]
    results.append(check_hygiene(facts, decisions))
    if routing_applies(facts, decisions):
        results.append(check_routing(facts, decisions))
    return results


def verification_gate(state: RunState, context: RunContext) -> list[CheckResult]:
    facts, decisions = _fresh_facts(state), Decisions.model_validate(state["decisions"])
    options = RunOptions.model_validate(state["options"])
    root = Path(facts.root).resolve()
    definition = definition_digest(context.definition, options)
    key, tree = live_key(facts, decisions, options, definition)
    record = None if options.reverify else reusable(context.home, root, key)
    context.progress("live", {"reused_from": record.run_id if record else None})
    # showmigrations reads the project's own database while the live check works on a copy: the two are
    # independent, so the migration check's interpreter runs beside the worker instead of after it.
    with ThreadPoolExecutor(max_workers=1) as pool:
        migrations = pool.submit(check_migrations, facts, decisions)
        live = reused_checks(record) if record else prove_live(facts, decisions)
        results = [migrations.result(), *live]
    if options.project_tests:
        before = state.get("project_tests")
        after = run_project_tests(facts)
        results.append(project_tests_check(SuiteRun.model_validate(before) if before else None, after))
    if record is None:
        docs = [CheckResult.model_validate(c) for c in state.get("gates", {}).get("discovery", [])]
        fresh = VerifiedLive(
            key=key,
            tree=tree,
            run_id=state["run_id"],
            verified_at=time.time(),
            checks=live,
            noop_key=noop_key(facts, options, definition)[0],
            decisions=decisions.model_dump(mode="json", exclude={"sources"}),
            docs=next((c for c in docs if c.key == "docs"), None),
        )
        unchanged = live_key(facts, decisions, options, definition)[0] == key
        settle_record(context.home, root, fresh, passed=all(r.passed for r in results), unchanged=unchanged)
    return results


def prove_live(facts: ProjectFacts, decisions: Decisions) -> list[CheckResult]:
    """Items 7, 10, 11 with a real worker; with queues, the routes a worker on those queues receives."""
    checks = verify_live(facts, decisions, broker_url=decisions.broker_url).checks
    if decisions.queues:  # routes the user asked for: a worker on the dedicated queues receives them
        checks.append(verify_routes_live(facts, decisions))
    return checks


def _fresh_facts(state: RunState) -> ProjectFacts:
    """Re-read the project after changes (new tasks.py, new settings) so checks see what is on disk now."""
    options = RunOptions.model_validate(state["options"])
    facts = state["facts"]
    return discover_project(
        Path(options.project).resolve(),
        Path(facts["interpreter"]),
        facts["settings_module"],
        facts["env_files"],
    )


GATES: dict[str, Callable[[RunState, RunContext], list[CheckResult]]] = {
    "discovery": discovery_gate,
    "analysis": analysis_gate,
    "planning": planning_gate,
    "implementation": implementation_gate,
    "verification": verification_gate,
}
