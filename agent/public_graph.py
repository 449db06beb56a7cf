"""The graph others run: a small public input and output around the five-phase graph's private state.

    prepare ─► integrate ─► END          (prepare ─► END when the request names no usable project)

A parent — a LangGraph graph, a `langgraph-supervisor` supervisor, a deep agent, the LangGraph server —
sends `IntegrationRequest` (`project`, `options`, `messages`) and gets `IntegrationResult`: the run id,
the status, the report and one summary AIMessage. The phases' conversations (our system prompt, tool calls
and results) live in the inner graph's own state and never reach the parent's `messages` (nor its
`stream_mode="messages"` stream, unless the parent asks to see inside subgraphs with `subgraphs=True`).

The inner graph is invoked inside the `integrate` node, so with a parent checkpointer it checkpoints as
the parent's subgraph, and a targeted question (`interactive` runs) surfaces as the parent's interrupt,
resumed with `Command(resume=answer)`. Progress (phases, gate outcomes) goes to the parent's custom
stream. The inner graph gets its runtime context from us, never from the caller, which is why
`langgraph dev` can serve this graph: the server has no way to build our live objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from langchain_core.messages import AIMessage, AnyMessage
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.constants import CONFIG_KEY_CHECKPOINTER
from langgraph.errors import GraphBubbleUp
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StreamWriter
from typing_extensions import TypedDict

from agent.config import RunOptions
from agent.graph import build_graph, initial_state
from agent.outcome import summary_text
from agent.report import RunReport
from agent.request import IntegrationRequest, RequestError, run_options
from agent.run_lock import ProjectLocked, RunLock
from agent.runner import RECURSION_LIMIT, new_run_id, roll_back_unfinished
from agent.session import build_context, context_for, release_context, write_header
from agent.state import ProgressCallback
from tools.django_celery.project_session import project_sessions

GRAPH_NAME = "django-integrator"


class IntegrationResult(TypedDict, total=False):
    """The graph's output: the caller's messages plus our one summary, and the run's report."""

    messages: Annotated[list[AnyMessage], add_messages]
    run_id: str | None
    status: str  # passed | failed | budget_exceeded | error
    report: dict[str, Any] | None  # RunReport as JSON; None when the request was refused


class IntegratorState(IntegrationRequest, IntegrationResult, total=False):
    run_options: dict[str, Any]  # private: RunOptions as JSON, settled once by `prepare`


def _refused(message: str, run_id: str | None = None) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "status": "error",
        "report": None,
        "messages": [AIMessage(content=f"Celery integration not run: {message}", name=GRAPH_NAME)],
    }


def _prepare(defaults: Mapping[str, Any]):
    def prepare(state: IntegratorState, config: RunnableConfig) -> dict[str, Any]:
        """Settle the run's options and id once (checkpointed), so a resumed run keeps both."""
        try:
            options = run_options(state, defaults)
        except RequestError as exc:
            return _refused(str(exc))
        if options.interactive and config.get("configurable", {}).get(CONFIG_KEY_CHECKPOINTER) is None:
            return _refused(
                "interactive runs ask questions through LangGraph interrupts, which need a checkpointer on "
                "the parent graph (compile(checkpointer=...)); add one, or leave `interactive` off and the "
                "recommended answers are taken and recorded."
            )
        run_id = new_run_id()
        try:
            context = build_context(options, run_id)
        except (ValueError, OSError) as exc:  # a broken definition, an unusable model setting
            return _refused(str(exc), run_id)
        write_header(context, run_id, options)
        return {"run_id": run_id, "run_options": options.model_dump(mode="json")}

    return prepare


def progress_events(write: StreamWriter) -> ProgressCallback:
    """Phase starts, gate outcomes and errors as LangGraph custom stream events, for a parent streaming
    with `stream_mode="custom"` (Studio shows them): progress without the phases' private conversation."""

    def progress(event: str, data: dict[str, Any]) -> None:
        if event == "phase":
            write({"source": GRAPH_NAME, "event": "phase", "phase": data["phase"], "title": data["title"]})
        elif event == "gate":
            failed = [
                f"#{r.number} {r.title}" if r.number else r.title for r in data["results"] if not r.passed
            ]
            write(
                {
                    "source": GRAPH_NAME,
                    "event": "gate",
                    "phase": data["phase"],
                    "attempt": data["attempt"],
                    "passed": not failed,
                    "failed": failed,
                }
            )
        elif event == "error":
            write(
                {"source": GRAPH_NAME, "event": "error", "phase": data["phase"], "message": data["message"]}
            )

    return progress


def _after_prepare(state: IntegratorState) -> str:
    return END if state.get("status") == "error" else "integrate"


def _integrate(inner: CompiledStateGraph):
    def integrate(state: IntegratorState) -> dict[str, Any]:
        """Run the five phases; LangGraph re-enters here on resume and the inner graph continues."""
        run_id = state["run_id"]
        options = RunOptions.model_validate(state["run_options"])
        context = context_for({"run_id": run_id, "options": state["run_options"]}, None)
        context.progress = progress_events(get_stream_writer())
        try:
            lock = RunLock.acquire(context.home, Path(options.project), run_id)
        except ProjectLocked as exc:
            release_context(run_id)
            return _refused(str(exc), run_id)
        try:
            with project_sessions():
                result = inner.invoke(
                    initial_state(run_id, options),
                    {"recursion_limit": RECURSION_LIMIT},
                    context=context,
                )
        except GraphBubbleUp:  # a question for the parent: the run waits, its changes stay
            raise
        except BaseException:
            roll_back_unfinished(run_id, context.home)
            release_context(run_id)
            raise
        finally:
            lock.release()
        release_context(run_id)
        report = RunReport.model_validate(result["report"])
        return {
            "status": report.status,
            "report": result["report"],
            "messages": [AIMessage(content=summary_text(report), name=GRAPH_NAME)],
        }

    return integrate


def build_public_graph(defaults: Mapping[str, Any] | None = None) -> CompiledStateGraph:
    """The compiled `django-integrator` graph; `defaults` are RunOptions the request's options override."""
    builder = StateGraph(IntegratorState, input_schema=IntegrationRequest, output_schema=IntegrationResult)
    builder.add_node("prepare", _prepare(dict(defaults or {})))
    builder.add_node("integrate", _integrate(build_graph()))
    builder.add_edge(START, "prepare")
    builder.add_conditional_edges("prepare", _after_prepare, ["integrate", END])
    builder.add_edge("integrate", END)
    return builder.compile(name=GRAPH_NAME)


graph = build_public_graph()
