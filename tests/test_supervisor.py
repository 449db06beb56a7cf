"""Parents built with the real libraries integrate a real project through us and receive the report.

Each parent's model is `ScriptedChatModel` (our package's parent double): it calls our tool or hands off to
us exactly as a model would, and its script fails if the parent did not bind the tool it names. Every
test integrates a fresh `startproject` + `startapp` copy with a live worker (embedded broker).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt.chat_agent_executor import AgentState
from langgraph.types import Command
from langgraph_supervisor import create_supervisor

from agent.models.scripted_chat import ScriptedChatModel, tool_call
from agent.run_lock import RunLock
from agent.supervisor import as_subagent, as_subgraph, as_tool, undo_run
from tools.journal import state_home

pytestmark = pytest.mark.live


def snapshot(project: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in project.rglob("*") if path.is_file()}


def quote_newest(kind: type[BaseMessage], name: str | None = None):
    """A scripted final answer that repeats the newest message of `kind` (and `name`, and no tool call):
    what the parent received from us."""

    def received(message: BaseMessage) -> bool:
        return (
            isinstance(message, kind)
            and name in (None, message.name)
            and not getattr(message, "tool_calls", 0)
        )

    def reply(messages: list[BaseMessage]) -> AIMessage:
        return AIMessage(
            content=f"Done. The integrator said: {next(filter(received, reversed(messages))).text}"
        )

    return reply


def assert_no_internal_messages(messages: list[BaseMessage]) -> None:
    """Our phases' conversation (system prompt, tool calls to Read/Write/Bash...) never reaches a parent."""
    assert not any(isinstance(m, SystemMessage) for m in messages), messages
    internal_tools = {"Read", "Write", "Edit", "Bash", "Glob", "Grep", "WebFetch", "Skill", "SlashCommand"}
    assert not any(isinstance(m, ToolMessage) and m.name in internal_tools for m in messages), messages
    assert not any("finish_phase" in str(getattr(m, "tool_calls", "")) for m in messages), messages


def test_create_agent_parent_calls_integrate_celery_and_can_undo_by_run_id(startproject: Path) -> None:
    before = snapshot(startproject)
    model = ScriptedChatModel(
        script=[tool_call("integrate_celery", project_path=str(startproject)), quote_newest(ToolMessage)]
    )
    parent = create_agent(model, tools=[as_tool(allow_network=False)], system_prompt="You delegate.")
    result = parent.invoke({"messages": [HumanMessage(f"Please add Celery to {startproject}")]})

    received = json.loads(next(m for m in result["messages"] if isinstance(m, ToolMessage)).text)
    assert received["status"] == "passed", received["error"]
    assert received["passed"] == "11/11"
    assert received["decisions"]["result_backend"] == "django-db"
    assert Path(received["transcript"]).is_file()
    last_event = json.loads(Path(received["transcript"]).read_text().splitlines()[-1])
    assert last_event["type"] == "report" and last_event["report"]["run_id"] == received["run_id"]
    assert "mysite/celery.py" in received["changed_files"]
    assert received["undo"] == f"django-integrator undo {startproject} --run {received['run_id']}"
    assert result["messages"][-1].text.startswith("Done. The integrator said: {")
    assert model.played == 2

    restored = undo_run(received["run_id"])
    assert "mysite/celery.py" in restored
    assert snapshot(startproject) == before


def test_langgraph_supervisor_hands_off_and_its_user_answers_our_questions(startproject: Path) -> None:
    class SupervisorState(AgentState):
        report: dict[str, Any] | None  # a parent that declares `report` receives the whole report

    model = ScriptedChatModel(
        script=[tool_call("transfer_to_django-integrator"), quote_newest(AIMessage, "django-integrator")]
    )
    integrator = as_subgraph(interactive=True, allow_network=False)
    assert integrator.name == "django-integrator"
    supervisor = create_supervisor(
        [integrator],
        model=model,
        prompt="Hand Django work to django-integrator.",
        state_schema=SupervisorState,
    ).compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "supervisor-1"}}
    result = supervisor.invoke(
        {"messages": [HumanMessage(f"Integrate Celery into {startproject}, please.")]}, config
    )
    topics = []
    while result.get("__interrupt__"):
        topics.append(result["__interrupt__"][0].value["topic"])
        result = supervisor.invoke(Command(resume="yes" if topics[-1] == "beat" else ""), config)

    assert topics == ["task_apps", "beat", "result_backend", "queues"]
    assert result["report"]["decisions"]["beat"] is True  # the default is no: the answer was used
    assert result["report"]["decisions"]["sources"]["beat"] == "asked"
    assert model.played == 2  # resuming re-entered our node, never the supervisor's model
    assert result["report"]["status"] == "passed", result["report"]["error"]
    assert sum(item["passed"] for item in result["report"]["checklist"]) == 11
    summary = next(m for m in result["messages"] if m.name == "django-integrator" and not m.tool_calls)
    assert summary.text.startswith(f"Celery integration of {startproject}: passed, 11/11 checklist items")
    assert result["report"]["run_id"] in summary.text
    assert_no_internal_messages(result["messages"])
    # user, handoff call, handoff result, our summary, handoff back (call + result), the final answer
    assert len(result["messages"]) == 7, [m.pretty_repr() for m in result["messages"]]
    assert result["messages"][-1].text.startswith("Done. The integrator said: Celery integration of")
    assert (startproject / "mysite" / "celery.py").is_file()


def test_deep_agent_delegates_to_the_compiled_subagent_spec(startproject: Path) -> None:
    from deepagents import CompiledSubAgent, create_deep_agent

    spec: CompiledSubAgent = as_subagent(allow_network=False)  # type: ignore[assignment]
    assert set(spec) == {"name", "description", "runnable"} and spec["name"] == "django-integrator"
    model = ScriptedChatModel(
        script=[
            tool_call(
                "task", description=f"Integrate Celery into {startproject}", subagent_type="django-integrator"
            ),
            quote_newest(ToolMessage),
        ]
    )
    parent = create_deep_agent(model=model, subagents=[spec])
    result = parent.invoke({"messages": [HumanMessage(f"Celery for the project at {startproject}")]})

    task_result = next(m for m in result["messages"] if isinstance(m, ToolMessage) and m.name == "task")
    received = json.loads(task_result.text)
    assert received["status"] == "passed", received["error"]
    assert received["passed"] == "11/11"
    assert Path(received["transcript"]).is_file()
    assert_no_internal_messages(result["messages"])
    assert (startproject / "polls" / "tasks.py").is_file()


def test_questions_reach_a_parent_with_a_checkpointer_and_resume(startproject: Path) -> None:
    class ParentState(MessagesState):
        report: dict[str, Any] | None

    builder = StateGraph(ParentState)
    builder.add_node("celery", as_subgraph(interactive=True, allow_network=False))
    builder.add_edge(START, "celery")
    parent = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "parent-1"}}

    streamed: list[BaseMessage] = []  # what a chat UI on the parent's "messages" stream would show

    def drive(payload: Any) -> Any:
        for chunk, _ in parent.stream(payload, config, stream_mode="messages"):
            streamed.append(chunk)
        return parent.get_state(config)

    thread = drive({"messages": [HumanMessage(f"Add Celery to {startproject}")]})
    questions = []
    answers = iter(["", "yes", "", ""])  # apps: default; periodic tasks: yes; backend, queues: default
    while thread.interrupts:
        questions.append(thread.interrupts[0].value)
        thread = drive(Command(resume=next(answers)))
    state = thread.values

    assert [q["topic"] for q in questions] == ["task_apps", "beat", "result_backend", "queues"]
    assert all(q["question"] and "default" in q for q in questions)
    assert state["report"]["status"] == "passed", state["report"]["error"]
    assert state["report"]["decisions"]["beat"] is True
    assert state["report"]["decisions"]["sources"]["beat"] == "asked"
    assert [type(m) for m in state["messages"]] == [HumanMessage, AIMessage]
    assert state["messages"][-1].text.startswith(f"Celery integration of {startproject}: passed, 11/11")
    assert [m.id for m in streamed] == [state["messages"][-1].id]


def test_requests_without_a_project_or_a_checkpointer_are_refused_with_a_message(tmp_path: Path) -> None:
    graph = as_subgraph()
    unnamed = graph.invoke({"messages": [HumanMessage("Add Celery to my project")]})
    assert unnamed["status"] == "error" and unnamed["report"] is None
    assert "No Django project given" in unnamed["messages"][-1].text

    bad = graph.invoke({"project": str(tmp_path), "options": {"backend": "mongodb"}})
    assert "Invalid run options: backend:" in bad["messages"][-1].text

    asks = graph.invoke({"project": str(tmp_path), "options": {"interactive": True}})
    assert "need a checkpointer on the parent graph" in asks["messages"][-1].text

    lock = RunLock.acquire(state_home(), tmp_path, "another-run")
    try:
        locked = graph.invoke({"project": str(tmp_path)})
    finally:
        lock.release()
    assert "is being integrated by run another-run" in locked["messages"][-1].text
    assert locked["run_id"] and locked["report"] is None
