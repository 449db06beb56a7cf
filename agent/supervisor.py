"""Adapters for a multi-agent supervisor: our graph as a subgraph, or the whole run as one tool call.

A supervisor either embeds the compiled graph (`as_subgraph`, no checkpointer of ours: the parent brings
its own persistence) and feeds it `subgraph_input(...)`, or hands its model `as_tool()`, which runs a
complete non-interactive integration and returns the report as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

from agent.config import RunOptions
from agent.graph import graph, initial_state
from agent.runner import Runner, new_run_id
from agent.state import RunState
from tools.django_celery.facts import ResultBackend


def as_subgraph():
    """The compiled five-phase graph (state schema `RunState`), for `parent.add_node("celery", ...)`."""
    return graph


def subgraph_input(project: str | Path, **options: object) -> RunState:
    """The input state for a non-interactive run of `as_subgraph()` on `project`."""
    run_options = RunOptions(project=str(Path(project).resolve()), **options)  # type: ignore[arg-type]
    return initial_state(new_run_id(), run_options)


class IntegrateCeleryArgs(BaseModel):
    project_path: str = Field(description="Absolute path of the Django project (the folder with manage.py).")
    backend: ResultBackend | None = Field(default=None, description="Result backend; default django-db.")
    beat: bool | None = Field(default=None, description="Add django-celery-beat periodic tasks.")
    apps: list[str] | None = Field(
        default=None, description="App labels that get tasks; default all local apps."
    )


def as_tool(**defaults: object) -> StructuredTool:
    """A tool that integrates Celery into a project end to end and returns the checklist report as JSON."""

    def integrate_celery(
        project_path: str,
        backend: ResultBackend | None = None,
        beat: bool | None = None,
        apps: list[str] | None = None,
    ) -> str:
        options = RunOptions(project=project_path, backend=backend, beat=beat, apps=apps, **defaults)  # type: ignore[arg-type]
        runner = Runner(options)
        try:
            outcome = runner.start()
        finally:
            runner.close()
        report = outcome.report
        if report is None:  # non-interactive runs never stop for questions
            return json.dumps({"status": "error", "error": "the run stopped for a question"})
        return json.dumps(
            {
                "status": report.status,
                "passed": f"{report.passed_count}/{len(report.checklist)}",
                "failed": [
                    {"item": c.number, "title": c.title, "evidence": c.evidence}
                    for c in report.checklist
                    if not c.passed
                ],
                "changed_files": report.changed_files,
                "error": report.error,
            }
        )

    return StructuredTool.from_function(
        func=integrate_celery,
        name="integrate_celery",
        args_schema=IntegrateCeleryArgs,
        description=(
            "Integrate Celery into an existing Django project (celery.py, settings, tasks, result backend) "
            "and verify it with a live worker. Returns the 11-item checklist outcome as JSON."
        ),
    )
