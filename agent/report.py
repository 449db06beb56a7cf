"""The final report: the eleven checklist items with evidence, the phases' own checks, what changed."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from agent.checklist import CHECKLIST, PHASES, CheckResult

if TYPE_CHECKING:  # the no-op fast path builds reports without LangGraph, whose types RunState uses
    from agent.state import RunState

NOT_REACHED = "not reached:"  # starts the evidence of an item whose gate never ran


class RunReport(BaseModel):
    run_id: str
    project: str
    status: str  # passed | failed | budget_exceeded | error
    error: str | None = None
    model: str
    definition: str
    checklist: list[CheckResult]
    phase_checks: dict[str, list[CheckResult]] = Field(default_factory=dict)
    decisions: dict[str, Any] | None = None
    changed_files: list[str] = Field(default_factory=list)
    rolled_back: bool = False
    usage: dict[str, Any] = Field(default_factory=dict)
    elapsed_s: float = 0.0
    transcript: str = ""
    # A verified no-op (agent.noop_run): the passing run whose verified result the project already was.
    reused_from: str | None = None

    @property
    def passed_count(self) -> int:
        return sum(r.passed for r in self.checklist)


def build_report(state: RunState, model: str, definition: str, transcript: str) -> RunReport:
    latest: dict[str, CheckResult] = {}
    phase_checks: dict[str, list[CheckResult]] = {}
    for phase in PHASES:
        for raw in state.get("gates", {}).get(phase, []):
            check = CheckResult.model_validate(raw)
            if check.number:
                latest[check.key] = check
            else:
                phase_checks.setdefault(phase, []).append(check)
    stopped_in = state.get("phase", "discovery")
    checklist = [
        latest.get(item.key)
        or CheckResult(
            key=item.key,
            number=item.number,
            title=item.title,
            passed=False,
            evidence=f"{NOT_REACHED} the run stopped in {stopped_in} before the {item.gate} gate",
        )
        for item in CHECKLIST
    ]
    usage = dict(state.get("usage") or {})
    started = usage.pop("started_at", time.time())
    return RunReport(
        run_id=state["run_id"],
        project=state["options"]["project"],
        status=state.get("status", "error"),
        error=state.get("error"),
        model=model,
        definition=definition,
        checklist=checklist,
        phase_checks=phase_checks,
        decisions=state.get("decisions"),
        usage=usage,
        elapsed_s=round(time.time() - started, 2),
        transcript=transcript,
    )
