"""Processes the agent starts get an environment without the agent's own model credentials.

Its own module, importing nothing, so the code that starts the project's processes stays light: discovery's
probe is started while the runtime is still being imported.
"""

from __future__ import annotations

MODEL_KEY_VARIABLES = (
    "OPENAI_API_KEY",
    "OPENAI_ORG_ID",
    "OPENAI_ORGANIZATION",
    "ANTHROPIC_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "GOOGLE_API_KEY",
    "GROQ_API_KEY",
    "MISTRAL_API_KEY",
    "LANGSMITH_API_KEY",
    "LANGCHAIN_API_KEY",
)


def without_model_keys(env: dict[str, str]) -> dict[str, str]:
    """`env` minus the agent's model credentials: the user's project has no use for them."""
    return {k: v for k, v in env.items() if k not in MODEL_KEY_VARIABLES}
