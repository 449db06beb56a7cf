"""A `chat.completion` as the server-sent events OpenAI streams when the request says `"stream": true`.

The scripted server answers streamed requests with these, so the real ChatOpenAI runs its streaming path
(deltas, tool-call fragments, the usage chunk) exactly as against a live endpoint. Text goes out a few
words per event, tool-call arguments in two fragments: what a client must reassemble.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

WORDS_PER_EVENT = 3


def _event(payload: dict[str, Any] | str) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return f"data: {data}\n\n".encode()


def content_pieces(text: str) -> list[str]:
    """`text` cut every few words, whitespace kept, so the pieces join back to exactly `text`."""
    words = re.findall(r"\S+\s*|\s+", text)
    return ["".join(words[i : i + WORDS_PER_EVENT]) for i in range(0, len(words), WORDS_PER_EVENT)]


def completion_events(completion: dict[str, Any], include_usage: bool) -> Iterator[bytes]:
    """The SSE byte stream of `completion` (a whole `chat.completion` body), ending with `[DONE]`."""
    choice = completion["choices"][0]
    message = choice["message"]
    base = {k: completion[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choices = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
        return _event(base | {"choices": choices})

    yield chunk({"role": "assistant", "content": ""})
    for piece in content_pieces(message.get("content") or ""):
        yield chunk({"content": piece})
    for index, call in enumerate(message.get("tool_calls") or []):
        arguments = call["function"]["arguments"]
        half = len(arguments) // 2
        head = {"id": call["id"], "type": "function", "function": {"name": call["function"]["name"]}}
        yield chunk(
            {"tool_calls": [{"index": index, **head} | {"function": {**head["function"], "arguments": ""}}]}
        )
        for fragment in (arguments[:half], arguments[half:]):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
    yield chunk({}, choice["finish_reason"])
    if include_usage:
        yield _event(base | {"choices": [], "usage": completion["usage"]})
    yield _event("[DONE]")
