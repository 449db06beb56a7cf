"""One phase = a bounded tool-calling loop of the chosen model, built as a small subgraph.

    enter ─► model ─┬─► ask ─► tools ─┐
              ▲     ├─► tools ────────┤
              └─────┴─────────────────┘   (ends when the model calls finish_phase or answers without tools)

`ask` only interrupts (for AskUserQuestion, and for the approval of writes and commands the permission mode
or an ask rule reserves, in interactive runs) and has no side effects, so LangGraph's re-execution of a
node on resume never repeats a file write or a shell command.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    HumanMessage,
    RemoveMessage,
    message_chunk_to_message,
)
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import REMOVE_ALL_MESSAGES
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from agent.config import RunOptions
from agent.decisions import default_answer, infer_topic, initial_decisions
from agent.executor import RUNTIME_TOOLS, execute_calls, pending_questions, runtime_tools
from agent.permission_modes import MODES, approval_request, effective_mode, read_approval
from agent.preflight import preflight
from agent.prompting import kickoff_message, system_message
from agent.session import context_for, run_dir, tool_context
from agent.state import RunContext, RunState
from tools.context import ToolContext
from tools.django_celery.discovery import DiscoveryError, discover_project
from tools.django_celery.facts import Decisions, ProjectFacts
from tools.django_celery.project_tests import run_project_tests
from tools.journal import Journal
from tools.registry import build_tools
from tools.secret_guard import mask_url_passwords

TRUNCATED_NOTE = (
    "Your last reply was cut off by the token limit before it was complete. Continue with a shorter reply: "
    "one tool call at a time, no long prose."
)


def run_facts(state: RunState) -> dict[str, Any]:
    """The compact facts a phase's model sees: project facts, decisions and the invocation arguments."""
    decisions = dict(state.get("decisions") or {})
    if decisions.get("broker_url"):  # a --broker URL's password is for the worker, never for the model
        decisions["broker_url"] = mask_url_passwords(decisions["broker_url"])
    return {
        "facts": state.get("facts"),
        "decisions": decisions if state.get("decisions") is not None else None,
        "arguments": RunOptions.model_validate(state["options"]).arguments,
    }


def _enter(phase: str):
    def enter(state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        context = context_for(state, runtime.context)
        if state.get("phase") == phase:  # back from a failed gate: the feedback message is already there
            return {"phase_done": False}
        updates: dict[str, Any] = {"phase": phase, "phase_done": False, "answers": {}, "approvals": {}}
        context.transcript.write("phase", phase=phase, attempt=1)
        context.progress("phase", {"phase": phase, "title": context.definition.phase(phase).title})  # type: ignore[arg-type]
        if phase == "discovery":
            try:
                updates |= _discover(state, context)
            except (DiscoveryError, ValueError) as exc:
                context.progress("error", {"phase": phase, "message": str(exc)})
                return updates | {"status": "error", "error": str(exc)}
        view: RunState = {**state, **updates}  # type: ignore[typeddict-item]
        messages = [
            RemoveMessage(id=REMOVE_ALL_MESSAGES),
            system_message(context.definition, context.skills, phase),
            kickoff_message(context.definition, phase, run_facts(view), state.get("summaries", {})),
        ]
        return updates | {"messages": messages}

    return enter


def _discover(state: RunState, context: RunContext) -> dict[str, Any]:
    """Discovery's code part: find the project and settle what flags and the project already decide."""
    options = RunOptions.model_validate(state["options"])
    root = Path(options.project).resolve()
    if not (run_dir(state["run_id"], context.home) / "journal.json").exists():
        Journal.start(root, state["run_id"], home=context.home)
    facts = discover_project(
        root, Path(options.python) if options.python else None, options.settings_module, options.env_files
    )
    decisions = initial_decisions(facts, options)
    preflight(facts, decisions, options.interactive)
    context.progress(
        "facts", {"facts": facts.model_dump(mode="json"), "decisions": decisions.model_dump(mode="json")}
    )
    updates = {"facts": facts.model_dump(mode="json"), "decisions": decisions.model_dump(mode="json")}
    if options.project_tests and state.get("project_tests") is None:  # the baseline, on the untouched project
        updates["project_tests"] = run_project_tests(facts).model_dump(mode="json")
    return updates


def _available_tools(context: RunContext, state: RunState) -> tuple[dict[str, BaseTool], ToolContext]:
    """The tools this definition lets the model see, bound to a ToolContext mirroring the state."""
    ctx = tool_context(state, context)
    tools = build_tools(ctx, context.skills, context.commands)
    visible = context.permissions.allowed_tool_names()
    return {name: tool for name, tool in tools.items() if name in visible}, ctx


def model_node(state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    context = context_for(state, runtime.context)
    options = RunOptions.model_validate(state["options"])
    usage = dict(state["usage"])
    exceeded = _budget_exceeded(options, usage)
    if exceeded:
        context.progress("error", {"phase": state["phase"], "message": exceeded})
        return {"status": "budget_exceeded", "error": exceeded}
    turns = sum(isinstance(m, AIMessage) for m in state["messages"])
    if turns >= options.budgets.max_turns_per_phase:
        summary = f"Stopped after {turns} model turns (the per-phase limit); the gate judges what was done."
        return {"phase_done": True, "summaries": {**state.get("summaries", {}), state["phase"]: summary}}

    tools, _ = _available_tools(context, state)
    bound = context.model.bind_tools([*tools.values(), *runtime_tools()])
    try:
        reply = _call_model(bound, state["messages"], context.on_text)
    except Exception as exc:  # the endpoint is down, times out, or rejects us: stop with a clear report
        message = _endpoint_failure(exc)
        context.transcript.write("model_error", phase=state["phase"], message=message)
        context.progress("error", {"phase": state["phase"], "message": message})
        return {"status": "error", "error": message}
    tokens = reply.usage_metadata or {}
    usage["model_calls"] += 1
    usage["prompt_tokens"] += tokens.get("input_tokens", 0)
    usage["completion_tokens"] += tokens.get("output_tokens", 0)
    context.transcript.write("model_response", phase=state["phase"], message=reply.model_dump(mode="json"))
    context.progress("model", {"phase": state["phase"], "content": reply.content, "calls": reply.tool_calls})
    updates: dict[str, Any] = {"messages": [reply], "usage": usage}
    if _truncated(reply) and not reply.tool_calls and not reply.invalid_tool_calls:
        return updates | {"messages": [reply, HumanMessage(content=TRUNCATED_NOTE)]}
    if not reply.tool_calls and not reply.invalid_tool_calls:
        summary = reply.content if isinstance(reply.content, str) and reply.content else "Phase ended."
        updates |= {"phase_done": True, "summaries": {**state.get("summaries", {}), state["phase"]: summary}}
    return updates


def _call_model(
    bound: Runnable, messages: list[AnyMessage], on_text: Callable[[str], None] | None
) -> AIMessage:
    """The model's reply; with `on_text`, streamed (a ChatOpenAI model sends its text as it is generated)."""
    if on_text is None:
        return bound.invoke(messages)
    received = None
    for chunk in bound.stream(messages):
        if isinstance(chunk.content, str) and chunk.content:
            on_text(chunk.content)
        received = chunk if received is None else received + chunk
    if received is None:
        raise ValueError("the model's stream ended without a message")
    return message_chunk_to_message(received)


def _endpoint_failure(exc: Exception) -> str:
    """What went wrong with the model endpoint and the fix, naming the underlying error (Connection
    error. means little without the ConnectError behind it)."""
    cause = exc.__cause__
    while cause is not None and cause.__cause__ is not None:  # the client's error wraps the socket's
        cause = cause.__cause__
    origin = ""
    if cause is not None:
        origin = f" (from {type(cause).__name__}" + ("" if str(cause) in str(exc) else f": {cause}") + ")"
    return (
        f"The model endpoint failed: {type(exc).__name__}: {exc}{origin}. Check OPENAI_BASE_URL and "
        "OPENAI_API_KEY, or run with --model offline (no model needed)."
    )


def _truncated(reply: AIMessage) -> bool:
    """The reply hit the token limit; cut-off tool calls come back to the model as such (see executor)."""
    return (reply.response_metadata or {}).get("finish_reason") == "length"


def _budget_exceeded(options: RunOptions, usage: dict[str, Any]) -> str | None:
    budgets = options.budgets
    if usage["model_calls"] >= budgets.max_model_calls:
        return f"Budget exceeded: {usage['model_calls']} model calls (limit {budgets.max_model_calls})."
    tokens = usage["prompt_tokens"] + usage["completion_tokens"]
    if tokens >= budgets.max_tokens:
        return f"Budget exceeded: {tokens} tokens (limit {budgets.max_tokens})."
    elapsed = time.time() - usage["started_at"]
    if elapsed >= budgets.max_wall_seconds:
        return f"Budget exceeded: {elapsed:.0f} s of wall time (limit {budgets.max_wall_seconds:.0f} s)."
    return None


def ask_node(state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Interrupt once per unanswered question, then once per call that waits for approval.

    No side effects, so re-running it on resume is harmless: LangGraph re-executes this node from the top
    on every resume, so the transcript events are written only once every interrupt has its answer (the
    one execution that runs to the end).
    """
    context = context_for(state, runtime.context)
    answers = dict(state.get("answers", {}))
    facts = ProjectFacts.model_validate(state["facts"])
    decisions = Decisions.model_validate(state["decisions"])
    calls = state["messages"][-1].tool_calls
    asked = []
    for call in pending_questions(calls, answers):
        args = call["args"]
        topic = args.get("topic") or infer_topic(args.get("question", ""))
        payload = {
            "question": args.get("question", ""),
            "options": args.get("options", []),
            "topic": topic,
            "default": default_answer(topic, facts, decisions),
        }
        answers[call["id"]] = str(interrupt(payload)).strip() or payload["default"]
        asked.append((call["id"], payload, answers[call["id"]]))
    approvals, always = _approvals(state, context, calls, asked)
    for call_id, payload, answer in asked:
        context.transcript.write("interrupt", phase=state["phase"], id=call_id, **payload)
        context.transcript.write("answer", phase=state["phase"], id=call_id, answer=answer)
    return {"answers": answers, "approvals": approvals, "always_approved": sorted(always)}


def _approvals(
    state: RunState, context: RunContext, calls: list[dict[str, Any]], asked: list[tuple[str, dict, str]]
) -> tuple[dict[str, str], set[str]]:
    """Ask for each call the permission mode or an ask rule reserves: call id -> "yes" or "no[: note]"."""
    approvals = dict(state.get("approvals", {}))
    always = set(state.get("always_approved", []))
    requested = RunOptions.model_validate(state["options"]).permission_mode
    mode = MODES[effective_mode(requested, context.definition.permission_mode, "bypass")]
    ctx = tool_context(state, context)
    for call in calls:
        if call["name"] in RUNTIME_TOOLS or call["id"] in approvals:
            continue
        payload = approval_request(call, context.permissions, mode, ctx, always)
        if payload is None:
            continue
        raw = str(interrupt(payload))
        verdict = read_approval(raw)
        if verdict.always:
            always.add(payload["scope"])
        approvals[call["id"]] = "yes" if verdict.approved else f"no: {verdict.note}".rstrip(": ")
        asked.append((call["id"], payload, raw.strip() or payload["default"]))
    return approvals, always


def tools_node(state: RunState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    context = context_for(state, runtime.context)
    reply: AIMessage = state["messages"][-1]
    tools, ctx = _available_tools(context, state)
    outcome = execute_calls(
        reply.tool_calls,
        [dict(c) for c in reply.invalid_tool_calls],
        tools,
        context.permissions,
        ctx,
        state.get("answers", {}),
        context.transcript,
        state["phase"],
        truncated=_truncated(reply),
        approvals=state.get("approvals", {}),
    )
    args_by_id = {call["id"]: call["args"] for call in reply.tool_calls}
    for message in outcome.messages:
        context.progress(
            "tool",
            {
                "phase": state["phase"],
                "name": message.name,
                "args": args_by_id.get(message.tool_call_id, {}),
                "status": message.status,
                "content": message.content,
            },
        )
    usage = dict(state["usage"])
    usage["tool_calls"] += len(reply.tool_calls) + len(reply.invalid_tool_calls)
    updates: dict[str, Any] = {
        "messages": outcome.messages,
        "usage": usage,
        "ledger": ctx.ledger.model_dump(mode="json"),
        "decisions": ctx.decisions.model_dump(mode="json") if ctx.decisions else state.get("decisions"),
    }
    if outcome.finished_summary is not None:
        updates |= {
            "phase_done": True,
            "summaries": {**state.get("summaries", {}), state["phase"]: outcome.finished_summary},
        }
    return updates


def _after_enter(state: RunState) -> str:
    return END if state.get("status") != "running" else "model"


def _after_model(state: RunState) -> str:
    if state.get("status") != "running" or state.get("phase_done"):
        return END
    reply = state["messages"][-1]
    if not isinstance(reply, AIMessage) or not (reply.tool_calls or reply.invalid_tool_calls):
        return "model"  # a truncation note was added: let the model continue
    if RunOptions.model_validate(state["options"]).interactive and reply.tool_calls:
        return "ask"  # questions, and approvals the permission mode or an ask rule reserves
    return "tools"


def _after_tools(state: RunState) -> str:
    return END if state.get("phase_done") or state.get("status") != "running" else "model"


def build_phase(phase: str):
    """The compiled subgraph of one phase."""
    graph = StateGraph(RunState, context_schema=RunContext)
    graph.add_node("enter", _enter(phase))
    graph.add_node("model", model_node)
    graph.add_node("ask", ask_node)
    graph.add_node("tools", tools_node)
    graph.add_edge(START, "enter")
    graph.add_conditional_edges("enter", _after_enter, ["model", END])
    graph.add_conditional_edges("model", _after_model, ["ask", "tools", "model", END])
    graph.add_edge("ask", "tools")
    graph.add_conditional_edges("tools", _after_tools, ["model", END])
    return graph.compile(name=phase)
