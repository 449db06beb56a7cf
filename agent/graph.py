"""The LangGraph state machine: five phases, each followed by the gate that owns its checklist items.

    discovery ─► gate ─► analysis ─► gate ─► planning ─► gate ─►
    implementation ─► gate ─► verification ─► gate ─► report

A failed gate sends its failing items (with evidence) back to the same phase, at most `max_gate_tries`
times, then the run stops with a report naming each failed item. An error or an exceeded budget goes
straight to the report. The report node also keeps the promise that a run which did not pass leaves the
project as it found it (unless the caller asked to keep the changes).

Its state is private: the CLI compiles it with a SQLite checkpointer (`build_graph(checkpointer=...)`);
parents and the LangGraph server run it through `agent.public_graph`, which gives it a small public input
and output.
"""

from __future__ import annotations

import time
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Checkpointer

from agent.checklist import PHASES, CheckResult
from agent.config import RunOptions
from agent.gates import GATES
from agent.phases import build_phase
from agent.prompting import gate_feedback_message
from agent.report import build_report
from agent.session import context_for, run_dir
from agent.state import RunContext, RunState
from tools.journal import Journal


def initial_state(run_id: str, options: RunOptions) -> RunState:
    return {
        "run_id": run_id,
        "options": options.model_dump(mode="json"),
        "messages": [],
        "facts": None,
        "decisions": None,
        "ledger": {},
        "gates": {},
        "tries": {},
        "summaries": {},
        "phase_done": False,
        "answers": {},
        "usage": {
            "model_calls": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "tool_calls": 0,
            "started_at": time.time(),
        },
        "status": "running",
        "error": None,
        "report": None,
    }


def _gate(phase: str):
    def gate(state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        context = context_for(state, runtime.context)
        context.progress("gate_start", {"phase": phase})
        try:
            results = GATES[phase](state, context)
        except Exception as exc:  # a check that crashes fails the gate with the crash as evidence
            results = [
                CheckResult(
                    key=f"{phase}_gate",
                    number=0,
                    title=f"the {phase} gate ran",
                    passed=False,
                    evidence=f"{type(exc).__name__}: {exc}",
                )
            ]
        tries = {**state.get("tries", {}), phase: state.get("tries", {}).get(phase, 0) + 1}
        failed = [r for r in results if not r.passed]
        context.transcript.write(
            "gate",
            phase=phase,
            attempt=tries[phase],
            passed=not failed,
            results=[r.model_dump() for r in results],
        )
        context.progress("gate", {"phase": phase, "results": results, "attempt": tries[phase]})
        updates: dict[str, Any] = {
            "gates": {**state.get("gates", {}), phase: [r.model_dump() for r in results]},
            "tries": tries,
        }
        if failed:
            max_tries = RunOptions.model_validate(state["options"]).max_gate_tries
            if tries[phase] < max_tries:
                updates["messages"] = [gate_feedback_message(phase, failed, tries[phase], max_tries)]
            else:
                updates |= {
                    "status": "failed",
                    "error": f"the {phase} gate failed {tries[phase]} times: "
                    + ", ".join(f"#{r.number} {r.key}" for r in failed),
                }
        elif phase == PHASES[-1]:
            updates["status"] = "passed"
        return updates

    return gate


def _after_phase(phase: str):
    def route(state: RunState) -> str:
        return "report" if state.get("status") != "running" else f"{phase}_gate"

    return route


def _after_gate(phase: str):
    following = PHASES[PHASES.index(phase) + 1] if phase != PHASES[-1] else "report"

    def route(state: RunState) -> str:
        if state.get("status") != "running":
            return "report"
        last = state["gates"][phase]
        return following if all(r["passed"] for r in last) else phase

    return route


def report_node(state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    context = context_for(state, runtime.context)
    options = RunOptions.model_validate(state["options"])
    report = build_report(
        state, context.model_label, str(context.definition.path), str(context.transcript.path)
    )
    journal_dir = run_dir(state["run_id"], context.home)
    if (journal_dir / "journal.json").exists():
        journal = Journal.load(journal_dir)
        report.changed_files = journal.changed_files()
        if report.status == "passed" or options.keep_on_failure:
            journal.finish()
        else:
            journal.rollback()
            report.rolled_back = True
    context.transcript.write("report", report=report.model_dump(mode="json"))
    context.progress("report", {"report": report})
    return {"report": report.model_dump(mode="json")}


def build_graph(checkpointer: Checkpointer = None):
    graph = StateGraph(RunState, context_schema=RunContext)
    for phase in PHASES:
        graph.add_node(phase, build_phase(phase))
        graph.add_node(f"{phase}_gate", _gate(phase))
        graph.add_conditional_edges(phase, _after_phase(phase), [f"{phase}_gate", "report"])
        following = PHASES[PHASES.index(phase) + 1] if phase != PHASES[-1] else "report"
        graph.add_conditional_edges(f"{phase}_gate", _after_gate(phase), sorted({following, phase, "report"}))
    graph.add_node("report", report_node)
    graph.add_edge(START, PHASES[0])
    graph.add_edge("report", END)
    return graph.compile(checkpointer=checkpointer, name="django-integrator")
