"""Chat models the runtime can drive: ChatOpenAI (any OpenAI-compatible server), the offline policy, replay."""

from __future__ import annotations

from langchain_core.language_models.chat_models import BaseChatModel

from agent.config import OFFLINE, ModelSettings, RunOptions
from agent.definition import AgentDefinition
from agent.models.offline import OfflinePolicy
from agent.transcript import TranscriptWriter


class ModelConfigError(ValueError):
    """The requested model cannot be used; the message says which setting to change."""


def choose_model(
    definition: AgentDefinition,
    options: RunOptions,
    settings: ModelSettings | None = None,
    transcript: TranscriptWriter | None = None,
) -> tuple[BaseChatModel, str]:
    """The chat model for a run and a label for reports: offline unless a model is configured.

    With a transcript, a ChatOpenAI model's wire traffic is recorded in it (see `agent.models.wire`).
    """
    settings = settings or ModelSettings.from_env()
    if options.model == OFFLINE or (options.model is None and not settings.configured):
        return OfflinePolicy(definition=definition), "offline policy (no model configured)"
    requested = options.model or definition.model
    model_id = settings.resolve(requested)
    if model_id is None:
        hint = (
            f"DJANGO_INTEGRATOR_MODEL_{requested.upper()}"
            if requested and requested != "inherit"
            else "DJANGO_INTEGRATOR_MODEL"
        )
        raise ModelConfigError(
            f"The definition asks for model {requested!r}, which maps to no model id. Set {hint} (or "
            "DJANGO_INTEGRATOR_MODEL) to a model your endpoint serves, pass --model <id>, or --model offline."
        )
    if settings.base_url is None and not settings.api_key:  # api.openai.com: 401, after every retry
        raise ModelConfigError(
            f"--model {model_id} asks for api.openai.com, but OPENAI_API_KEY is not set. Export OPENAI_API_KEY "
            "(or put it in .env), set OPENAI_BASE_URL for a local server that needs no key, or pass --model offline."
        )
    label = f"{model_id} via {settings.base_url or 'api.openai.com'}"
    # Imported here: langchain-openai and its httpx/openai clients cost ~0.4 s and most of the offline
    # run's memory, and neither an offline run nor `--help` uses them.
    from agent.models.openai import make_chat_openai

    return make_chat_openai(model_id, settings, transcript=transcript), label
