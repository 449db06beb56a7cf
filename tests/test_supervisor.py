"""A supervisor can embed the graph as a subgraph node or call the whole integration as one tool."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langgraph.graph import END, START, StateGraph

from agent.state import RunState
from agent.supervisor import as_subgraph, as_tool, subgraph_input

pytestmark = pytest.mark.live


def test_graph_runs_as_a_node_of_a_parent_graph(startproject: Path) -> None:
    parent = StateGraph(RunState)
    parent.add_node("integrate_celery", as_subgraph())
    parent.add_edge(START, "integrate_celery")
    parent.add_edge("integrate_celery", END)
    result = parent.compile().invoke(
        subgraph_input(startproject, allow_network=False), {"recursion_limit": 1000}
    )
    assert result["status"] == "passed"
    assert sum(c["passed"] for c in result["report"]["checklist"]) == 11
    assert (startproject / "mysite" / "celery.py").is_file()


def test_integration_as_one_tool_call(startproject: Path) -> None:
    tool = as_tool(allow_network=False)
    assert tool.name == "integrate_celery"
    outcome = json.loads(tool.invoke({"project_path": str(startproject), "backend": "django-db"}))
    assert outcome["status"] == "passed", outcome
    assert outcome["passed"] == "11/11"
    assert "mysite/celery.py" in outcome["changed_files"]
