"""What a caller of ours gets back: a short summary for a parent's conversation, and the full outcome.

A parent agent's model reads one message from us, so the summary says what matters in a few lines: the
status, the checklist score, what failed, what changed, and how to inspect or undo the run (its id and
transcript). Programs get `outcome_payload`: the whole report plus the same handles.
"""

from __future__ import annotations

import shlex
from typing import Any

from agent.report import NOT_REACHED, RunReport

MAX_LISTED = 8  # changed files or failed items named in the summary; the report has them all


def undo_command(report: RunReport) -> str:
    return f"django-integrator undo {shlex.quote(report.project)} --run {report.run_id}"


def summary_text(report: RunReport) -> str:
    lines = [
        f"Celery integration of {report.project}: {report.status}, "
        f"{report.passed_count}/{len(report.checklist)} checklist items passed."
    ]
    if report.error:
        lines.append(f"Stopped: {report.error}")
    unreached = [item for item in report.checklist if item.evidence.startswith(NOT_REACHED)]
    failed = [item for item in report.checklist if not item.passed and item not in unreached]
    if failed:
        lines.append("Failed: " + "; ".join(f"#{item.number} {item.title}" for item in failed[:MAX_LISTED]))
    if unreached:
        lines.append(f"Not reached: {len(unreached)} items (the run stopped before their gates).")
    if report.rolled_back and report.changed_files:
        lines.append("The project was put back exactly as it was.")
    elif report.changed_files:
        more = len(report.changed_files) - MAX_LISTED
        listed = ", ".join(report.changed_files[:MAX_LISTED]) + (f" and {more} more" if more > 0 else "")
        lines.append(f"Changed: {listed}. Undo: {undo_command(report)}")
    lines.append(f"Run {report.run_id}; transcript: {report.transcript}")
    return "\n".join(lines)


def outcome_payload(report: RunReport) -> dict[str, Any]:
    """The report as JSON plus the score and the undo command, for tools and structured responses."""
    payload = report.model_dump(mode="json")
    payload["passed"] = f"{report.passed_count}/{len(report.checklist)}"
    payload["undo"] = None if report.rolled_back or not report.changed_files else undo_command(report)
    return payload
