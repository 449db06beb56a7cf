"""A verified no-op: "nothing to be done", as make says, when the project already is a passing run's result.

A passing run that verified the project live leaves a record (agent.live_reuse) of the state it verified,
under a key computed from everything the run's outcome depends on but the decisions: the content of every
project file, the interpreter and its packages, the environment and --env-file contents, the options, the
definition and our own code. The decisions follow from those (the project's facts, the flags, the
definition's defaults), and are compared as well. A `run` whose key is identical would make the same
decisions, change no file and prove what that run proved, so the CLI does not build the graph at all:
LangGraph and LangChain are never imported, and no model is called — whichever is configured, the project
is already in the state a run would bring it to, and the user is spared its tokens (the report says so).

What is cheap and static is checked again, for real, by the gates' own functions: discovery in the
project's interpreter (its session), items 2–7 and 9 (libcst, the secret scan), the hygiene rules and the
routes, item 8 (the migration plan, in the project's interpreter). What needs the run's reading or a live
worker is reused from the recorded run and says so: item 1, item 7's live part, items 10 and 11, the live
routes. Anything else sends the CLI to the full run: a key or decision that differs, a re-check that fails,
the tree changing meanwhile, an interactive run with a question to ask (its answer could change what the
run does), `--project-tests` (the suite is run, not reused), `--reverify` (everything again, a live worker
included), another run holding the project.

The no-op is a run like any other for `runs`, `resume` and `diff`: its journal (finished, no file changed),
its transcript (header, the re-checks as gate events, the report).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from agent.checklist import CheckResult
from agent.config import ModelSettings, RunOptions, resolve_model
from agent.decisions import initial_decisions, open_questions
from agent.definition import load_definition
from agent.definition_models import AgentDefinition, DefinitionError
from agent.gates import project_found, static_checks
from agent.live_reuse import VerifiedLive, definition_digest, noop_key, passing_record
from agent.plugins import definition_file
from agent.report import RunReport, build_report
from agent.run_lock import ProjectLocked, RunLock
from agent.transcript import TranscriptWriter, write_run_header
from tools.django_celery.discovery import discover_project
from tools.django_celery.discovery_error import DiscoveryError
from tools.django_celery.facts import Decisions, ProjectFacts
from tools.django_celery.migrations import check_migrations
from tools.django_celery.tree_digest import tree_digest
from tools.journal import Journal, new_run_id, run_dir, state_home

LIVE_PART = "installed_apps"  # item 7: checked statically now, and by the recorded run's live worker


def verified_noop(options: RunOptions, home: Path | None = None) -> RunReport | None:
    """The report of a verified no-op on the project of `options`, or None: the full run must run."""
    if options.reverify or options.project_tests:
        return None
    started = time.time()
    home = home or state_home()
    root = Path(options.project).resolve()
    record = passing_record(home, root)
    if record is None or not record.noop_key or record.docs is None:
        return None
    try:  # a definition or model setting that fails is reported by the full run, as bad input
        definition = load_definition(definition_file(options), project_root=root)
        _, model_label = resolve_model(definition.model, options, ModelSettings.from_env())
    except (DefinitionError, ValueError):
        return None
    run_id = new_run_id()
    try:
        lock = RunLock.acquire(home, root, run_id)
    except ProjectLocked:  # the full run refuses with the holder's run id
        return None
    try:
        checked = _check(options, root, definition, record)
        if checked is None:
            return None
        gates, decisions = checked
        usage = {"model_calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "tool_calls": 0}
        state = {
            "run_id": run_id,
            "options": options.model_dump(mode="json"),
            "status": "passed",
            "gates": gates,
            "decisions": decisions,
            "usage": usage | {"started_at": started},
        }
        return _record_run(state, home, definition, f"{model_label}, not called", record)
    finally:
        lock.release()


def _check(
    options: RunOptions, root: Path, definition: AgentDefinition, record: VerifiedLive
) -> tuple[dict[str, list[dict]], dict] | None:
    """(gate results by phase, decisions) when the project is the recorded run's verified result and every
    check made now passes; None otherwise."""
    python = Path(options.python) if options.python else None
    try:
        facts = discover_project(root, python, options.settings_module, options.env_files)
        decisions = initial_decisions(facts, options)
    except (DiscoveryError, ValueError):  # the full run reports it
        return None
    key, tree = noop_key(facts, options, definition_digest(definition, options))
    if key != record.noop_key or decisions.model_dump(mode="json", exclude={"sources"}) != record.decisions:
        return None
    decisions_json = decisions.model_dump(mode="json")
    if options.interactive and open_questions(definition, facts.model_dump(mode="json"), decisions_json):
        return None  # its answer could change what the run does
    gates = recheck(facts, decisions, record, record.docs)
    if gates is None or tree_digest(root) != tree:  # a check failed, or the project changed meanwhile
        return None
    return gates, decisions_json


def _record_run(
    state: dict[str, Any], home: Path, definition: AgentDefinition, model_label: str, record: VerifiedLive
) -> RunReport:
    """The no-op as a run: its transcript (header, the gates' results, the report) and a finished journal
    with no file in it, so `runs`, `resume` and `diff` treat it as a run that changed nothing."""
    run_id, options = state["run_id"], state["options"]
    transcript = TranscriptWriter(run_dir(run_id, home) / "transcript.jsonl")
    write_run_header(transcript, run_id, definition.path, model_label, options)
    transcript.write("noop", reused_from=record.run_id, verified_at=record.verified_at, tree=record.tree)
    for phase, results in state["gates"].items():
        transcript.write("gate", phase=phase, attempt=1, passed=True, results=results)
    report = build_report(state, model_label, str(definition.path), str(transcript.path))
    report.reused_from = record.run_id
    transcript.write("report", report=report.model_dump(mode="json"))
    Journal.start(Path(options["project"]), run_id, home=home).finish()
    return report


def recheck(
    facts: ProjectFacts, decisions: Decisions, record: VerifiedLive, docs: CheckResult
) -> dict[str, list[dict]] | None:
    """The gates' results of a no-op, phase by phase (as a run's state holds them), or None when a check
    made now fails: the static ones run again, the rest come from `record`, saying so."""
    found, static = project_found(facts), static_checks(facts, decisions)
    migrations = check_migrations(facts, decisions)
    if not all(check.passed for check in (found, *static, migrations)):
        return None
    now = {check.key: check for check in static}
    live = []
    for check in reused(record, record.checks):
        if check.key == LIVE_PART and LIVE_PART in now:
            check = check.model_copy(
                update={"evidence": f"checked now: {now[LIVE_PART].evidence}; live: {check.evidence}"}
            )
        live.append(check)
    return {
        "discovery": [c.model_dump() for c in (found, *reused(record, [docs]))],
        "implementation": [c.model_dump() for c in static],
        "verification": [c.model_dump() for c in (migrations, *live)],
    }


def reused(record: VerifiedLive, checks: list[CheckResult]) -> list[CheckResult]:
    """The recorded checks, each saying which run proved it, when, and on what."""
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.verified_at))
    source = (
        f"reused from run {record.run_id} at {when} on an identical tree (digest {record.tree[:12]}…: files, "
        "interpreter and packages, environment, options, definition and agent code); --reverify runs "
        "everything again."
    )
    return [check.model_copy(update={"evidence": f"{source} {check.evidence}"}) for check in checks]
