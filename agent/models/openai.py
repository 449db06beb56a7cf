"""ChatOpenAI on the chat-completions API, configured from the environment.

`http_client` is the seam for recording and replay: the same ChatOpenAI class talks to a live server,
records the wire traffic, or is fed a recorded transcript, depending only on the httpx transport.
"""

from __future__ import annotations

import httpx
from langchain_openai import ChatOpenAI

from agent.config import ModelSettings


def make_chat_openai(
    model_id: str, settings: ModelSettings, transport: httpx.BaseTransport | None = None
) -> ChatOpenAI:
    http_client = httpx.Client(transport=transport, timeout=settings.timeout) if transport else None
    return ChatOpenAI(
        model=model_id,
        api_key=settings.api_key
        or "not-needed-for-local-servers",  # local servers ignore it; the client needs one
        base_url=settings.base_url,
        timeout=settings.timeout,
        max_retries=settings.max_retries,
        stream_usage=True,
        use_responses_api=False,
        http_client=http_client,
    )
