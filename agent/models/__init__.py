"""Chat models the runtime can drive: ChatOpenAI (any OpenAI-compatible server), the offline policy, replay."""

from __future__ import annotations

from langchain_core.language_models.chat_models import BaseChatModel

from agent.config import ModelConfigError, ModelSettings, RunOptions, resolve_model
from agent.definition import AgentDefinition
from agent.models.offline import OfflinePolicy
from agent.transcript import TranscriptWriter

__all__ = ["ModelConfigError", "choose_model"]  # ModelConfigError lives with the settings it is about


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
    model_id, label = resolve_model(definition.model, options, settings)
    if model_id is None:
        return OfflinePolicy(definition=definition), label
    # Imported here: langchain-openai and its httpx/openai clients cost ~0.4 s and most of the offline
    # run's memory, and neither an offline run nor `--help` uses them.
    from agent.models.openai import make_chat_openai

    return make_chat_openai(model_id, settings, transcript=transcript), label
