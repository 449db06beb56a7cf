"""Typed configuration: run options from the CLI (or a supervisor), model settings from env and `.env`.

Model settings follow the OpenAI client's own variables so any OpenAI-compatible server works (OpenAI,
Ollama, vLLM, LM Studio): OPENAI_API_KEY, OPENAI_BASE_URL. The frontmatter's model aliases (haiku, sonnet,
opus) map to concrete model ids through DJANGO_INTEGRATOR_MODEL_<ALIAS>; DJANGO_INTEGRATOR_MODEL picks the
model for `inherit` and overrides everything when set.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values
from pydantic import BaseModel, Field

from tools.django_celery.facts import ResultBackend

# agent.permission_modes implements the modes; the names live here, so reading options (the CLI does it
# before discovery's session starts) never imports the tools and LangChain that the modes need
PermissionModeName = Literal["ask", "accept-edits", "bypass"]

MODEL_ALIASES = ("haiku", "sonnet", "opus")
OFFLINE = "offline"


class Budgets(BaseModel):
    """Hard limits per run; exceeding one stops the run cleanly with a report."""

    max_model_calls: int = 80
    max_tokens: int = 400_000  # prompt + completion, summed over the run
    max_wall_seconds: float = 1_800.0
    max_turns_per_phase: int = 25


class RunOptions(BaseModel):
    """Everything a caller decides about one run; JSON-serialisable so graph state can carry it."""

    project: str
    definition: str | None = (
        None  # None = our bundled prompts/django-integrator.md (a plugin folder: its agent)
    )
    agents_dirs: list[str] = Field(
        default_factory=list
    )  # Claude Code plugin folders (agents, commands, skills)
    agent: str | None = None  # an agent of those folders by name, e.g. "celery:django-integrator"
    arguments: str = ""  # $ARGUMENTS of the definition's slash-command directives
    interactive: bool = False
    # Which allowed writes and commands wait for approval in an interactive run (agent.permission_modes);
    # None: the definition's `permissionMode`, else bypass (`chat` makes it ask).
    permission_mode: PermissionModeName | None = None
    model: str | None = None  # None = configured model, else the offline policy
    python: str | None = None  # the project's interpreter; None = discover it
    settings_module: str | None = None  # --settings; None = manage.py, $DJANGO_SETTINGS_MODULE, .env, pytest
    env_files: list[str] = Field(default_factory=list)  # --env-file: dotenv files for the project's processes
    backend: ResultBackend | None = None
    beat: bool | None = None
    apps: list[str] | None = None
    broker_url: str | None = None  # None = the embedded broker (or CELERY_BROKER_URL from the environment)
    allow_network: bool = True
    max_gate_tries: int = 2
    keep_on_failure: bool = False  # False: a run that does not pass puts the project back as it was
    # Consents for changes beyond the integration itself (None = ask when interactive, else no).
    install_deps: bool | None = None  # pip install missing packages into the project's interpreter
    project_tests: bool = False  # run the project's own tests before and after; a new failure fails the gate
    rewrite_dispatch: bool | None = None  # rewrite existing .delay() inside transactions to on_commit
    rename_settings: bool | None = None  # rename old-style Celery setting names to the new ones
    fix_eager: bool | None = None  # turn a literal CELERY_TASK_ALWAYS_EAGER = True in the run settings off
    fix_url_passwords: bool | None = None  # remove passwords from broker/backend URLs in the settings
    env_urls: bool | None = None  # read broker/backend URLs written in the settings from the environment
    queues: list[str] | None = None  # dedicated queues to route tasks to (None = ask / no routing)
    reverify: bool = False  # start the worker even when a passing run verified this identical project live
    budgets: Budgets = Field(default_factory=Budgets)


class ModelSettings(BaseModel):
    api_key: str | None = None
    base_url: str | None = None
    model: str | None = None  # explicit model id for every alias
    aliases: dict[str, str] = Field(default_factory=dict)  # haiku -> model id
    timeout: float = 120.0
    max_retries: int = 3

    @classmethod
    def from_env(cls, env_file: Path | None = None) -> ModelSettings:
        """Read OPENAI_* and DJANGO_INTEGRATOR_* from the process environment, then a `.env` file."""
        file_values = {k: v for k, v in dotenv_values(env_file or Path.cwd() / ".env").items() if v}
        merged = {**file_values, **{k: v for k, v in os.environ.items() if v}}
        aliases = {
            alias: merged[f"DJANGO_INTEGRATOR_MODEL_{alias.upper()}"]
            for alias in MODEL_ALIASES
            if merged.get(f"DJANGO_INTEGRATOR_MODEL_{alias.upper()}")
        }
        return cls(
            api_key=merged.get("OPENAI_API_KEY"),
            base_url=merged.get("OPENAI_BASE_URL"),
            model=merged.get("DJANGO_INTEGRATOR_MODEL"),
            aliases=aliases,
            timeout=float(merged.get("DJANGO_INTEGRATOR_TIMEOUT", 120)),
            max_retries=int(merged.get("DJANGO_INTEGRATOR_MAX_RETRIES", 3)),
        )

    def resolve(self, requested: str | None) -> str | None:
        """The concrete model id for a frontmatter value (alias, full id or inherit); None = offline."""
        if self.model:
            return self.model
        if requested in (None, "inherit"):
            return None
        if requested in MODEL_ALIASES:
            return self.aliases.get(requested)
        return requested

    @property
    def configured(self) -> bool:
        """A model is reachable in principle: an API key, or a local server URL that needs none."""
        return bool(self.api_key or self.base_url)


class ModelConfigError(ValueError):
    """The requested model cannot be used; the message says which setting to change."""


def resolve_model(
    definition_model: str | None, options: RunOptions, settings: ModelSettings
) -> tuple[str | None, str]:
    """(model id, label for reports) of a run; the id is None for the offline policy. Raises ModelConfigError.

    Kept apart from building the client, so a run that never calls the model (the no-op fast path) can
    still name the one it would have used."""
    if options.model == OFFLINE or (options.model is None and not settings.configured):
        return None, "offline policy (no model configured)"
    requested = options.model or definition_model
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
    return model_id, f"{model_id} via {settings.base_url or 'api.openai.com'}"
