"""A scripted OpenAI-compatible server: plays the model's role behind the real wire, deterministically.

No model is reachable from the machines that build this project, yet the LLM path (ChatOpenAI, its
retries, tool-call parsing, usage, finish reasons) must run for real. This server is the other end of that
wire: a function from a chat-completions request body to what a server sends back — a `chat.completion`
JSON, an HTTP error with its headers, or a network failure. It is served to the real `ChatOpenAI` through
`ScriptedTransport`, and `RecordingTransport` records the exchanges like any other server's.

Its behaviour: what the definition prescribes (the offline policy's batch for the current step), unless the
scenario's hook says otherwise for this turn — a malformed call, an unknown tool, a refused command, a
cut-off reply, a 429, a 500, a timeout, a repair after gate feedback. The hook sees the conversation the way
a model does (`Turn`), so it reacts to what the runtime told it rather than to a fixed position.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agent.definition import AgentDefinition
from agent.models.offline import OfflinePolicy, ToolCall, read_kickoff
from agent.models.offline_chat import is_chat, offline_chat_answer
from agent.models.sse import completion_events

ERROR_PREFIXES = ("Error", "Refused")


@dataclass
class Completion:
    """A 200 response: narration, tool calls as (name, arguments text), and the finish reason."""

    content: str
    calls: list[tuple[str, str]] = field(default_factory=list)
    finish_reason: str = ""  # "" = "tool_calls" when there are calls, else "stop"


@dataclass
class HttpFailure:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class NetworkFailure:
    """The attempt never gets a response: raised as this httpx exception (e.g. "ReadTimeout")."""

    kind: str
    message: str


Reply = Completion | HttpFailure | NetworkFailure


@dataclass
class Turn:
    """The request as a model sees it, with the bookkeeping a scripted model needs."""

    messages: list[BaseMessage]
    phase: str
    run: dict[str, Any]  # the kickoff's run facts (facts, decisions, arguments)
    boundary: str  # the latest phase kickoff or gate feedback: where this stretch of work started
    step: int  # turns since `boundary` whose calls all succeeded
    slips: int  # turns since `boundary` with a failed call, or with no call at all
    calls_made: list[ToolCall]  # every call since `boundary`, in order
    planned: tuple[str, list[ToolCall]]  # what the definition prescribes now: (narration, calls)
    call: int  # 0-based index of this request among distinct requests
    attempt: int  # 1, or more when the client retries the very same request

    def result_of(self, name: str, **args: Any) -> str | None:
        """The tool result of the latest call `name(**args)` in this phase's conversation, if any."""
        results = {m.tool_call_id: str(m.content) for m in self.messages if isinstance(m, ToolMessage)}
        found = None
        for message in self.messages:
            for call in message.tool_calls if isinstance(message, AIMessage) else []:
                if call["name"] == name and all(call["args"].get(k) == v for k, v in args.items()):
                    found = results.get(call["id"], found)
        return found


Hook = Callable[[Turn], Reply | None]
ChatHook = Callable[[list[BaseMessage]], Reply | None]  # free text typed in `chat`, outside any run


def to_messages(raw: list[dict[str, Any]]) -> list[BaseMessage]:
    """OpenAI chat messages back into LangChain messages (what the client serialised, read back)."""
    messages: list[BaseMessage] = []
    for item in raw:
        role, content = item.get("role"), item.get("content") or ""
        if role == "system":
            messages.append(SystemMessage(content=content))
        elif role == "user":
            messages.append(HumanMessage(content=content))
        elif role == "tool":
            messages.append(ToolMessage(content=content, tool_call_id=item.get("tool_call_id", "")))
        elif role == "assistant":
            calls = []
            for call in item.get("tool_calls") or []:
                try:
                    args = json.loads(call["function"]["arguments"] or "{}")
                except json.JSONDecodeError:
                    args = {"__unparsed__": call["function"]["arguments"]}
                calls.append({"name": call["function"]["name"], "args": args, "id": call["id"]})
            messages.append(AIMessage(content=content, tool_calls=calls))
    return messages


def protocol_problem(body: dict[str, Any]) -> str | None:
    """What OpenAI's chat completions rejects with a 400 in this request's conversation, if anything.

    The rule a tool-calling runtime most easily breaks: every `tool_call_id` of an assistant message —
    including calls whose arguments did not parse — needs its own tool message, before anything else.
    """
    pending: list[str] = []
    for index, message in enumerate(body.get("messages") or []):
        if message.get("role") == "tool":
            if message.get("tool_call_id") not in pending:
                return f"messages.[{index}]: a tool message must respond to a preceding 'tool_calls' id"
            pending.remove(message["tool_call_id"])
            continue
        if pending:
            return (
                "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(pending)}"
            )
        if message.get("role") == "assistant":
            pending = [call["id"] for call in message.get("tool_calls") or []]
    names = [tool["function"]["name"] for tool in body.get("tools") or []]
    if len(names) != len(set(names)):
        return f"tools: function names must be unique ({', '.join(names)})"
    return None


def _is_boundary(message: BaseMessage) -> bool:
    text = message.content if isinstance(message.content, str) else ""
    return isinstance(message, HumanMessage) and ("## Phase " in text or "gate failed" in text)


class ScriptedServer:
    """request body -> Reply. Stateful only in what a server can know: which requests it has seen."""

    def __init__(
        self,
        definition: AgentDefinition,
        hook: Hook | None = None,
        model: str = "scripted",
        chat_hook: ChatHook | None = None,
    ) -> None:
        """`chat_hook` answers the chat's free text (default: the offline policy's answer, as text)."""
        self.policy = OfflinePolicy(definition=definition)
        self.hook = hook
        self.chat_hook = chat_hook
        self.model = model
        self.seen: dict[str, int] = {}  # request digest -> attempts
        self.completions = 0

    def __call__(self, body: dict[str, Any]) -> Reply:
        problem = protocol_problem(body)
        if problem is not None:
            error = {"message": problem, "type": "invalid_request_error", "param": "messages", "code": None}
            return HttpFailure(400, {"error": error})
        messages = to_messages(body.get("messages") or [])
        if is_chat(messages):
            reply = self.chat_hook(messages) if self.chat_hook else None
            return reply or Completion(offline_chat_answer(messages))
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        call = list(self.seen).index(digest) if digest in self.seen else len(self.seen)
        self.seen[digest] = self.seen.get(digest, 0) + 1
        tools = tuple(t["function"]["name"] for t in body.get("tools") or [])
        turn = self.turn(messages, tools, call, self.seen[digest])
        reply = self.hook(turn) if self.hook else None
        return reply or Completion(
            turn.planned[0], [(c["name"], json.dumps(c["args"])) for c in turn.planned[1]]
        )

    def turn(self, messages: list[BaseMessage], tools: tuple[str, ...], call: int, attempt: int) -> Turn:
        phase, run = read_kickoff(messages)
        start = max(i for i, m in enumerate(messages) if _is_boundary(m))
        results = {m.tool_call_id: str(m.content) for m in messages[start:] if isinstance(m, ToolMessage)}
        step = slips = 0
        calls_made: list[ToolCall] = []
        for message in messages[start:]:
            if not isinstance(message, AIMessage):
                continue
            calls_made += [{"name": c["name"], "args": c["args"]} for c in message.tool_calls]
            failed = [c for c in message.tool_calls if results.get(c["id"], "").startswith(ERROR_PREFIXES)]
            if message.tool_calls and not failed:
                step += 1
            else:
                slips += 1
        batches = self.policy.model_copy(update={"tool_names": tools}).plan(phase, run)
        finish = ("Phase work done.", [self.policy.finish_call(phase, run)])
        planned = batches[step] if step < len(batches) else finish
        planned = (planned[0], [c for c in planned[1] if not tools or c["name"] in tools] or finish[1])
        return Turn(
            messages=messages,
            phase=phase,
            run=run,
            boundary=str(messages[start].content),
            step=step,
            slips=slips,
            calls_made=calls_made,
            planned=planned,
            call=call,
            attempt=attempt,
        )

    def completion_json(self, reply: Completion, body: dict[str, Any]) -> dict[str, Any]:
        """A `chat.completion` as OpenAI sends it; token counts estimated at four characters a token."""
        self.completions += 1
        calls = [
            {
                "id": f"call_{self.completions:03d}_{i}",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
            for i, (name, arguments) in enumerate(reply.calls)
        ]
        message: dict[str, Any] = {"role": "assistant", "content": reply.content or None, "refusal": None}
        if calls:
            message["tool_calls"] = calls
        prompt = len(json.dumps(body.get("messages"))) + len(json.dumps(body.get("tools") or []))
        completion = len(reply.content) + sum(len(n) + len(a) for n, a in reply.calls)
        usage = {"prompt_tokens": prompt // 4, "completion_tokens": completion // 4 + 1}
        return {
            "id": f"chatcmpl-scripted-{self.completions:03d}",
            "object": "chat.completion",
            "created": 1_767_225_600,
            "model": body.get("model", self.model),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": reply.finish_reason or ("tool_calls" if calls else "stop"),
                }
            ],
            "usage": {**usage, "total_tokens": sum(usage.values())},
            "system_fingerprint": None,
        }


class ScriptedTransport(httpx.BaseTransport):
    """Serves a `ScriptedServer` to an httpx client: its replies become responses or raised errors."""

    def __init__(self, server: ScriptedServer) -> None:
        self.server = server

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.read() or b"{}")
        reply = self.server(body)
        if isinstance(reply, NetworkFailure):
            kind = getattr(httpx, reply.kind)
            raise kind(reply.message, request=request)
        if isinstance(reply, HttpFailure):
            return httpx.Response(reply.status, headers=reply.headers, json=reply.body, request=request)
        completion = self.server.completion_json(reply, body)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            events = completion_events(completion, include_usage)
            headers = {"content-type": "text/event-stream"}
            return httpx.Response(200, headers=headers, content=events, request=request)
        return httpx.Response(200, json=completion, request=request)
