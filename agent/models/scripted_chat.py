"""A scripted chat model: plays a parent agent's model (a supervisor, a deep agent) turn by turn.

Tests of the supervisor adapters need the parent's model to do something definite — hand off to us, call
our tool, then answer with what came back — without a language model. `ScriptedChatModel` is that double:
the n-th call gets the n-th scripted reply, either a fixed `AIMessage` or a function of the conversation
(to quote what a tool returned). It binds tools like a real chat model, and a scripted call to a tool that
was not bound fails loudly, naming the tools that were, so a script cannot silently drift from the
parent's real tool names (`transfer_to_django-integrator`, `task`, `integrate_celery`).

Users embedding us in their own supervisor can script their parent the same way in their tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, PrivateAttr

ScriptedReply = AIMessage | Callable[[list[BaseMessage]], AIMessage]


class ScriptExhausted(RuntimeError):
    """The parent called its model more often than the script has replies."""


def tool_call(name: str, content: str = "", **args: Any) -> AIMessage:
    """A scripted turn that calls one tool (the id is filled in when the turn is played)."""
    return AIMessage(content=content, tool_calls=[{"name": name, "args": args, "id": None}])


class ScriptedChatModel(BaseChatModel):
    """Replies from a script, one per call, in order; one script plays one conversation."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    script: list[Any]  # ScriptedReply items (pydantic cannot validate the callables' signature)
    _played: int = PrivateAttr(default=0)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "scripted-chat"

    @property
    def played(self) -> int:
        """How many replies the script has given so far."""
        return self._played

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable:  # type: ignore[override]
        return self.bind(tools=[convert_to_openai_tool(tool) for tool in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self._lock:
            turn = self._played
            self._played += 1
        if turn >= len(self.script):
            raise ScriptExhausted(
                f"the script has {len(self.script)} replies and the parent asked for reply {turn + 1}; "
                f"the last message it sent was: {messages[-1].content!r:.300}"
            )
        planned = self.script[turn]
        reply = planned(messages) if callable(planned) else planned
        bound = [tool["function"]["name"] for tool in kwargs.get("tools") or []]
        calls = []
        for index, call in enumerate(reply.tool_calls):
            if call["name"] not in bound:
                raise ValueError(
                    f"scripted reply {turn + 1} calls {call['name']!r}, which the parent did not bind; "
                    f"bound tools: {', '.join(bound) or 'none'}"
                )
            calls.append({**call, "id": call.get("id") or f"scripted-{turn + 1}-{index + 1}"})
        message = AIMessage(content=reply.content, tool_calls=calls, name=reply.name)
        return ChatResult(generations=[ChatGeneration(message=message)])
