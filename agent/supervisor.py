"""Adapters for multi-agent parents: our graph as a subgraph or sub-agent, or the whole run as one tool.

- `as_subgraph()`: the compiled `django-integrator` graph with its small public input and output
  (`agent.public_graph`), for `parent.add_node(...)` or `create_supervisor([as_subgraph()], ...)`. It runs
  on the parent's checkpointer (none of ours), so an interactive run's questions are the parent's
  interrupts.
- `as_subagent()`: the same graph as a deep agent's compiled sub-agent spec (name, description,
  runnable); the report comes back as the sub-agent's structured response.
- `as_tool()`: a LangChain tool that runs a complete non-interactive integration (our SQLite
  checkpointer and run lock, like the CLI) and returns the report as JSON with the run id, transcript,
  decisions and the command that undoes it.

`undo_run(run_id)` puts a project back as it was before a run, whichever adapter started it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.tools import StructuredTool
from langgraph.graph.state import CompiledStateGraph
from pydantic import BaseModel, Field

from agent.config import RunOptions
from agent.outcome import outcome_payload
from agent.public_graph import GRAPH_NAME, build_public_graph
from agent.report import RunReport
from agent.runner import Runner
from agent.session import run_dir
from tools.django_celery.facts import ResultBackend
from tools.journal import Journal, state_home
from tools.run_selection import APPLIED

DESCRIPTION = (
    "Integrates Celery into an existing Django project (celery.py, settings, tasks, result backend, "
    "transaction-safe dispatch) and verifies it with a live worker. Give it the absolute path of the "
    "project (the folder with manage.py). Returns the 11-item checklist report, the run id and how to undo."
)


def as_subgraph(**defaults: Any) -> CompiledStateGraph:
    """The public graph; `defaults` are RunOptions (e.g. `interactive=True`) the request's options override."""
    return build_public_graph(defaults)


def as_subagent(**defaults: Any) -> dict[str, Any]:
    """A deep agent's compiled sub-agent spec: `{"name", "description", "runnable"}` (deepagents'
    CompiledSubAgent). The runnable adds `structured_response` (the report as `as_tool` returns it), which
    deepagents hands to the parent's model as the `task` tool's result."""

    def with_structured_response(result: dict[str, Any]) -> dict[str, Any]:
        report = result.get("report")
        structured = outcome_payload(RunReport.model_validate(report)) if report else None
        return {**result, "structured_response": structured}

    runnable: Runnable = build_public_graph(defaults) | RunnableLambda(with_structured_response)
    return {"name": GRAPH_NAME, "description": DESCRIPTION, "runnable": runnable}


class IntegrateCeleryArgs(BaseModel):
    project_path: str = Field(description="Absolute path of the Django project (the folder with manage.py).")
    backend: ResultBackend | None = Field(default=None, description="Result backend; default django-db.")
    beat: bool | None = Field(default=None, description="Add django-celery-beat periodic tasks.")
    apps: list[str] | None = Field(
        default=None, description="App labels that get tasks; default all local apps."
    )


def as_tool(**defaults: Any) -> StructuredTool:
    """A tool that integrates Celery into a project end to end; `defaults` are RunOptions for every call."""

    def integrate_celery(
        project_path: str,
        backend: ResultBackend | None = None,
        beat: bool | None = None,
        apps: list[str] | None = None,
    ) -> str:
        options = RunOptions.model_validate(
            {**defaults, "project": project_path, "backend": backend, "beat": beat, "apps": apps}
            | {"interactive": False}  # a tool call has no one to ask: recommended answers, recorded
        )
        runner = Runner(options)
        try:
            outcome = runner.start()
        finally:
            runner.close()
        assert outcome.report is not None  # a non-interactive run never stops for a question
        return json.dumps(outcome_payload(outcome.report))

    return StructuredTool.from_function(
        func=integrate_celery,
        name="integrate_celery",
        args_schema=IntegrateCeleryArgs,
        description=DESCRIPTION,
    )


def undo_run(run_id: str, home: Path | None = None) -> list[str]:
    """Restore every file the run changed, byte for byte; returns their paths. Raises ValueError when the
    run is unknown or was already undone."""
    journal_dir = run_dir(run_id, home or state_home())
    if not (journal_dir / "journal.json").exists():
        raise ValueError(f"No run {run_id} is recorded under {journal_dir.parent}.")
    journal = Journal.load(journal_dir)
    if journal.index.status not in APPLIED:
        raise ValueError(f"Run {run_id} was already undone ({journal.index.status}).")
    return journal.rollback()
