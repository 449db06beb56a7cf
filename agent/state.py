"""Graph state (JSON-friendly, checkpointed) and the run context (live objects, never checkpointed).

State holds only what must survive a crash or an interrupt: facts, decisions, the ledger, gate results,
the current phase's messages and usage counters. The run context holds the things that cannot be
serialised — the chat model, the definition, tool libraries, the transcript — and is rebuilt from the
state's options when a run resumes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

from agent.definition import AgentDefinition
from agent.permissions import Permissions
from agent.transcript import TranscriptWriter
from tools.commands import CommandLibrary
from tools.skills import SkillLibrary

RunStatus = Literal["running", "passed", "failed", "budget_exceeded", "error"]


class Usage(TypedDict):
    model_calls: int
    prompt_tokens: int
    completion_tokens: int
    tool_calls: int
    started_at: float


class RunState(TypedDict, total=False):
    run_id: str
    options: dict[str, Any]  # RunOptions.model_dump(mode="json")
    phase: str
    messages: Annotated[list[AnyMessage], add_messages]  # the current phase's conversation only
    facts: dict[str, Any] | None  # ProjectFacts
    decisions: dict[str, Any] | None  # Decisions
    ledger: dict[str, Any]  # Ledger
    gates: dict[str, list[dict[str, Any]]]  # phase -> the latest CheckResults of its gate
    tries: dict[str, int]  # phase -> gate attempts so far
    summaries: dict[str, str]  # phase -> the summary it finished with
    phase_done: bool
    answers: dict[str, str]  # tool_call_id -> the user's answer, gathered before the tools run
    approvals: dict[str, str]  # tool_call_id -> "yes" | "no[: note]" for calls that waited for approval
    always_approved: list[str]  # approval scopes the user answered "always" for (the rest of the run)
    usage: Usage
    status: RunStatus
    error: str | None
    report: dict[str, Any] | None
    project_tests: dict[str, Any] | None  # --project-tests: the SuiteRun before any change


ProgressCallback = Callable[[str, dict[str, Any]], None]


@dataclass
class RunContext:
    """What nodes need besides state; passed as LangGraph's runtime context."""

    definition: AgentDefinition
    permissions: Permissions
    model: BaseChatModel
    model_label: str
    skills: SkillLibrary
    commands: CommandLibrary
    transcript: TranscriptWriter
    home: Path
    progress: ProgressCallback = field(default=lambda event, data: None)
    on_text: Callable[[str], None] | None = None  # set: the model's text streams to it as it arrives
