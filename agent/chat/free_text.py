"""Free text typed at the chat's prompt: a conversation with the model, streamed as it arrives.

The model sees who it is (the chat of an agent that integrates Celery), the commands the user can type,
and the session's state as a `chat-facts` JSON block. It cannot edit anything itself; it may run one of
the chat's commands for the user through the `run_chat_command` tool (starting the integration with the
arguments asked for, showing the diff), never `/undo` or `/exit`, which stay the user's to type. With no
model configured, the offline policy answers (see `agent.models.offline_chat`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

from agent.chat.commands import ADD_BACKEND, SETUP, help_text
from agent.definition_models import AgentDefinition
from agent.models.offline_chat import CHAT_MARKER

MODEL_COMMANDS = ("/status", "/plan", "/diff", "/report", SETUP, ADD_BACKEND)
TOOL_NAME = "run_chat_command"


class RunChatCommandArgs(BaseModel):
    command: str = Field(
        description=f"The command line to run for the user, one of: {', '.join(MODEL_COMMANDS)} (with its "
        "arguments), e.g. '/celery:setup --beat --backend redis'."
    )


def command_tool() -> StructuredTool:
    def unreachable(command: str) -> str:
        raise RuntimeError("the chat session runs the command itself")

    return StructuredTool.from_function(
        func=unreachable,
        name=TOOL_NAME,
        args_schema=RunChatCommandArgs,
        description="Run one of the chat's commands for the user, when they ask for what it does.",
    )


def system_message(definition: AgentDefinition, facts: dict[str, Any]) -> SystemMessage:
    return SystemMessage(
        content=f"""{CHAT_MARKER}, a terminal tool that integrates Celery into an existing Django project and \
proves the result works with a live Celery worker. The agent it runs is {definition.name}: {definition.description}

Answer the user briefly and concretely (Celery, Django, this project, what a run did). You cannot change \
files yourself: runs of the agent do that, and every change they make can be undone. When the user asks \
for something one of these commands does, call {TOOL_NAME} with the command line ({", ".join(MODEL_COMMANDS)}); \
/undo and /exit are for the user to type.

{help_text()}

The session as it stands:
```json chat-facts
{json.dumps(facts, indent=1, sort_keys=True)}
```"""
    )


@dataclass
class Reply:
    text: str
    command: str | None = None  # a command line the model asked to run
    call_id: str | None = None


class FreeTextConversation:
    """The free-text exchanges of one chat session (restored from disk by `--resume`)."""

    def __init__(self, history: list[tuple[str, str]] | None = None) -> None:
        self.messages: list[BaseMessage] = [
            HumanMessage(content=text) if role == "user" else AIMessage(content=text)
            for role, text in history or []
        ]

    def reply(
        self, model: BaseChatModel, system: SystemMessage, text: str, on_text: Callable[[str], None]
    ) -> Reply:
        """Send `text`; `on_text` gets the reply as it streams. Ctrl-C keeps what arrived so far."""
        self.messages.append(HumanMessage(content=text))
        bound = model.bind_tools([command_tool()])
        received: AIMessageChunk | None = None
        try:
            for chunk in bound.stream([system, *self.messages]):
                piece = chunk.content if isinstance(chunk.content, str) else ""
                if piece:
                    on_text(piece)
                received = chunk if received is None else received + chunk  # type: ignore[assignment]
        except KeyboardInterrupt:
            partial = str(received.content) if received is not None else ""
            self.messages.append(AIMessage(content=partial + " [stopped by the user]"))
            raise
        content = str(received.content) if received is not None else ""
        calls = [c for c in (received.tool_calls if received is not None else []) if c["name"] == TOOL_NAME]
        if calls:
            call = calls[0]  # one command per reply; the others are not run (and not sent back)
            self.messages.append(AIMessage(content=content, tool_calls=[call]))
            return Reply(content, str(call["args"].get("command", "")), call["id"])
        self.messages.append(AIMessage(content=content))
        return Reply(content)

    def command_result(self, call_id: str, outcome: str) -> None:
        """What running the model's command came to, for its next turn."""
        self.messages.append(ToolMessage(content=outcome, tool_call_id=call_id))
