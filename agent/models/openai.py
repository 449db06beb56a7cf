"""ChatOpenAI on the chat-completions API, configured from the environment, its traffic recorded.

`http_client` is the seam for recording and replay: the same ChatOpenAI class talks to a live server,
records the wire traffic, or is fed a recorded transcript, depending only on the httpx transport.

Chat completions rather than the Responses API, because that is what local OpenAI-compatible servers
(Ollama, vLLM, LM Studio) implement. `stream_usage=True` only matters when LangGraph streams the model
(`stream_mode="messages"`): it then asks for the usage chunk; a plain `invoke` reads `usage` from the
response body either way. Retries (429, 408, 409, 5xx, timeouts, connection errors) and their exponential
backoff — or the server's `Retry-After` — are the openai client's own, bounded by `max_retries`.
"""

from __future__ import annotations

import urllib.request
from urllib.parse import urlsplit

import httpx
from langchain_openai import ChatOpenAI

from agent.config import ModelSettings
from agent.models.wire import RecordingTransport
from agent.transcript import TranscriptWriter

OPENAI_API = "https://api.openai.com/v1"
PLACEHOLDER_KEY = "not-needed-for-local-servers"  # local servers ignore it; the client insists on one


def environment_proxy(url: str) -> str | None:
    """The proxy the environment names for `url` (HTTPS_PROXY, NO_PROXY, …): a custom transport skips it."""
    parts = urlsplit(url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme)


def make_chat_openai(
    model_id: str,
    settings: ModelSettings,
    transport: httpx.BaseTransport | None = None,
    transcript: TranscriptWriter | None = None,
) -> ChatOpenAI:
    """A ChatOpenAI for `model_id`. With a transcript, every exchange with the server is recorded in it.

    `transport` replaces the network (replay, the scripted server); by default it is httpx's own.
    """
    if transcript is not None:
        transcript.add_secret(settings.api_key, "OPENAI_API_KEY")  # it may come from .env, not os.environ
        inner = transport or httpx.HTTPTransport(proxy=environment_proxy(settings.base_url or OPENAI_API))
        transport = RecordingTransport(inner, transcript)
        transcript.write(
            "model_client",
            model=model_id,
            endpoint=_without_credentials(settings.base_url) or OPENAI_API,
            max_retries=settings.max_retries,
            timeout=settings.timeout,
        )
    http_client = httpx.Client(transport=transport, timeout=settings.timeout) if transport else None
    return ChatOpenAI(
        model=model_id,
        api_key=settings.api_key or PLACEHOLDER_KEY,
        base_url=settings.base_url,
        timeout=settings.timeout,
        max_retries=settings.max_retries,
        stream_usage=True,
        use_responses_api=False,
        http_client=http_client,
    )


def _without_credentials(url: str | None) -> str | None:
    """A base URL for the transcript: `user:password@` (some proxies take them in the URL) dropped."""
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return parts._replace(netloc=netloc).geturl()
