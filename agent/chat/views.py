"""`/status` and `/plan`: a run's state at its last checkpoint, as lines for the terminal.

Pure functions of the checkpointed state (phase, gates, decisions, ledger), so they read the same for a
run in progress, one paused with Ctrl-C, one left paused by an earlier session, and one that finished.
"""

from __future__ import annotations

from typing import Any

from agent.checklist import CHECKLIST, PHASES
from tools.todo import MARKS

RUN_STATES = {
    "waiting": "waiting for your answer",
    "paused": "paused (/continue picks it up, /undo drops it)",
    "finished": "finished",
    "undone": "undone (the project is as it was before it)",
}


def status_lines(
    run_id: str, run_state: str, state: dict[str, Any], changed: list[str], width: int = 100
) -> list[str]:
    """Where the run stands: phase, state, decisions, changed files, and each checklist item so far,
    each line cut to `width` characters."""
    phase = state.get("phase") or PHASES[0]
    number = PHASES.index(phase) + 1 if phase in PHASES else 0
    status = state.get("status", "running")
    lines = [
        f"run {run_id} · {RUN_STATES.get(run_state, run_state)} · "
        + (f"result: {status}" if run_state in ("finished", "undone") else f"phase {number}/5 {phase}")
    ]
    decisions = state.get("decisions") or {}
    if decisions:
        lines.append(
            f"decisions: backend {decisions.get('result_backend')}, beat {'on' if decisions.get('beat') else 'off'}, "
            f"apps {', '.join(decisions.get('task_apps') or []) or 'none'}, "
            f"queues {', '.join(decisions.get('queues') or []) or 'none'}"
        )
    lines.append(f"changed: {', '.join(changed)}" if changed else "changed: nothing (now)")
    latest = {raw["key"]: raw for results in (state.get("gates") or {}).values() for raw in results}
    lines.append("checklist:")
    for item in CHECKLIST:
        result = latest.get(item.key)
        if result is None:
            lines.append(f"  · {item.number:>2}. {item.title} — not checked yet ({item.gate} gate)")
        else:
            mark = "✓" if result["passed"] else "✗"
            lines.append(f"  {mark} {item.number:>2}. {item.title} — {_first_line(result['evidence'])}")
    if state.get("error"):
        lines.append(f"stopped: {state['error']}")
    return [line if len(line) <= width else line[: width - 1] + "…" for line in lines]


def plan_lines(state: dict[str, Any]) -> list[str]:
    todos = ((state.get("ledger") or {}).get("todos")) or []
    if not todos:
        return ["No plan yet: the agent writes it in phase 3/5, planning."]
    done = sum(todo["status"] == "completed" for todo in todos)
    return [f"plan ({done}/{len(todos)} done):", *(f"  {MARKS[t['status']]} {t['content']}" for t in todos)]


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""
