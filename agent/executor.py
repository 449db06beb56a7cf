"""Run a model turn's tool calls: name lookup, argument validation, permissions, then the tool itself.

Whatever goes wrong — an unknown tool, malformed arguments, a refused call, a failing tool — comes back to
the model as a tool message that says what happened and what to do; nothing raises into the graph. Two
tools belong to the runtime rather than to `tools/`: `AskUserQuestion` (its answer was gathered before the
batch ran, by an interrupt in interactive runs or from the recommended default otherwise) and
`finish_phase`, which ends the phase. A call the user was asked to approve (see `agent.permission_modes`)
runs only when approved; an ask rule's call, refused by the permissions alone, runs once approved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field, ValidationError

from agent.decisions import CONSENT_TOPICS, Topic, apply_answer, default_answer, infer_topic
from agent.permissions import Permissions
from agent.transcript import TranscriptWriter
from tools.base import clip
from tools.context import AnswerRecord, ToolContext
from tools.secret_guard import mask_url_passwords

ASK_TOOL = "AskUserQuestion"
FINISH_TOOL = "finish_phase"
RUNTIME_TOOLS = (ASK_TOOL, FINISH_TOOL)


class AskUserQuestionArgs(BaseModel):
    question: str = Field(description="One targeted question the project facts cannot answer.")
    options: list[str] = Field(
        default_factory=list, description="Suggested answers, the recommended one first."
    )
    topic: Topic | None = Field(
        default=None,
        description=(
            "What the answer decides: task_apps, beat, result_backend, dispatch, queues, "
            f"{', '.join(CONSENT_TOPICS)} (consents to change the user's code), or other."
        ),
    )


class FinishPhaseArgs(BaseModel):
    summary: str = Field(
        description="Two sentences: what this phase did and found. Later phases see only this."
    )


def runtime_tools() -> list[StructuredTool]:
    """Schemas the model sees for the runtime-owned tools (execution happens in `execute_calls`)."""

    def unreachable(**_: Any) -> str:
        raise RuntimeError("runtime tools are executed by agent.executor, not invoked directly")

    return [
        StructuredTool.from_function(
            func=unreachable,
            name=ASK_TOOL,
            args_schema=AskUserQuestionArgs,
            description=(
                "Ask the user one targeted question (which apps get tasks, periodic tasks, result storage). "
                "In non-interactive runs the recommended default is taken and recorded."
            ),
        ),
        StructuredTool.from_function(
            func=unreachable,
            name=FINISH_TOOL,
            args_schema=FinishPhaseArgs,
            description="End the current phase. The runtime then checks the phase's checklist items.",
        ),
    ]


@dataclass
class BatchOutcome:
    messages: list[ToolMessage] = field(default_factory=list)
    finished_summary: str | None = None  # set when the model called finish_phase


def pending_questions(calls: list[dict[str, Any]], answered: dict[str, str]) -> list[dict[str, Any]]:
    return [c for c in calls if c["name"] == ASK_TOOL and c["id"] not in answered]


def execute_calls(
    calls: list[dict[str, Any]],
    invalid_calls: list[dict[str, Any]],
    tools: dict[str, BaseTool],
    permissions: Permissions,
    ctx: ToolContext,
    answers: dict[str, str],
    transcript: TranscriptWriter,
    phase: str,
    truncated: bool = False,
    approvals: dict[str, str] | None = None,
) -> BatchOutcome:
    """Run one model turn's calls. `truncated`: the reply hit the token limit (finish_reason "length").

    `approvals`: call id -> "yes", or "no" / "no: <the user's note>", for the calls the user was asked about.
    """
    outcome = BatchOutcome()
    for bad in invalid_calls:
        content = (
            f"Error: your reply was cut off by the token limit before the arguments of {bad.get('name')!r} "
            "were complete, so it was not run. Send it again with shorter arguments, one call at a time."
            if truncated
            else f"Error: the arguments of your call to {bad.get('name')!r} are not valid JSON "
            f"({bad.get('error') or 'could not be parsed'}). Send the call again with a JSON object of arguments."
        )
        outcome.messages.append(
            _message(bad.get("id") or "invalid", bad.get("name") or "unknown", content, True)
        )
        transcript.write("tool_result", phase=phase, id=bad.get("id"), name=bad.get("name"), content=content)
    # Questions first: their answers were gathered before any side effect of this batch ran.
    ordered = sorted(calls, key=lambda c: c["name"] != ASK_TOOL)
    for call in ordered:
        transcript.write("tool_call", phase=phase, id=call["id"], name=call["name"], args=call["args"])
        verdict = (approvals or {}).get(call["id"])
        content, failed = _execute_one(call, tools, permissions, ctx, answers, outcome, verdict)
        content = mask_url_passwords(clip(content, ctx.output_limit))  # the model never sees a password
        transcript.write("tool_result", phase=phase, id=call["id"], name=call["name"], content=content)
        outcome.messages.append(_message(call["id"], call["name"], content, failed))
    order = {c["id"]: i for i, c in enumerate(calls)}
    outcome.messages.sort(key=lambda m: order.get(m.tool_call_id, -1))
    return outcome


def _execute_one(
    call: dict[str, Any],
    tools: dict[str, BaseTool],
    permissions: Permissions,
    ctx: ToolContext,
    answers: dict[str, str],
    outcome: BatchOutcome,
    verdict: str | None = None,
) -> tuple[str, bool]:
    name, args = call["name"], call.get("args") or {}
    if name == FINISH_TOOL:
        try:
            outcome.finished_summary = FinishPhaseArgs.model_validate(args).summary
        except ValidationError as exc:
            return _invalid(name, exc, FinishPhaseArgs), True
        return "Phase finished; the runtime is checking this phase's checklist items.", False
    if name == ASK_TOOL:
        try:
            parsed = AskUserQuestionArgs.model_validate(args)
        except ValidationError as exc:
            return _invalid(name, exc, AskUserQuestionArgs), True
        return _answer(call["id"], parsed, ctx, answers), False
    tool = tools.get(name)
    if tool is None:
        known = ", ".join(sorted([*tools, *RUNTIME_TOOLS]))
        return f"Error: there is no tool named {name!r}. Available tools: {known}.", True
    if verdict is not None and verdict.startswith("no"):
        note = verdict.partition(":")[2].strip()
        said = f" The user said: {note}" if note else ""
        return (
            f"Not run: the user declined this {name} call.{said} Do not repeat it unchanged; continue without "
            "it, or do what the user asked instead.",
            True,
        )
    decision = permissions.check(name, args)
    if not decision.allowed and not (decision.needs_approval and verdict == "yes"):
        return f"Refused by the agent's permissions, not run: {decision.reason}", True
    schema = tool.args_schema
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        try:
            schema.model_validate(args)
        except ValidationError as exc:
            return _invalid(name, exc, schema), True
    try:
        content = tool.invoke(args)
    except Exception as exc:  # a tool bug must not take the run down; the model hears about it
        return f"Error: {name} failed unexpectedly: {type(exc).__name__}: {exc}", True
    text = content if isinstance(content, str) else json.dumps(content, default=str)
    return text, text.startswith("Error:")


def _answer(call_id: str, args: AskUserQuestionArgs, ctx: ToolContext, answers: dict[str, str]) -> str:
    topic: Topic = args.topic or infer_topic(args.question)
    if ctx.facts is None or ctx.decisions is None:
        return "Error: questions can be asked once discovery has found the project."
    if call_id in answers:
        answer, source = answers[call_id], "asked"
    else:
        answer, source = default_answer(topic, ctx.facts, ctx.decisions), "default"
    understood = apply_answer(topic, answer, ctx.facts, ctx.decisions, source)
    ctx.ledger.answers[topic if topic != "other" else call_id] = AnswerRecord(
        question=args.question,
        answer=answer,
        source=source,  # type: ignore[arg-type]
    )
    if source == "asked":
        return f"The user answered: {answer!r} — understood as {understood}."
    return (
        f"Non-interactive run: took the recommended answer {answer!r} ({understood}); recorded as a default."
    )


def _invalid(name: str, exc: ValidationError, schema: type[BaseModel]) -> str:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()
    )
    expected = json.dumps(schema.model_json_schema().get("properties", {}))
    return f"Error: invalid arguments for {name}: {problems}. Expected arguments: {expected}"


def _message(call_id: str, name: str, content: str, failed: bool) -> ToolMessage:
    return ToolMessage(
        content=content, tool_call_id=call_id, name=name, status="error" if failed else "success"
    )
