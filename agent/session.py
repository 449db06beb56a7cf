"""Build the live objects of a run from its options: definition, permissions, model, libraries, transcript.

Nodes get them from LangGraph's runtime context. When the graph runs inside someone else's graph or under
`langgraph dev`, no context of ours is passed, so `context_for` rebuilds one from the options carried in
state (cached per run id).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel

from agent.config import RunOptions
from agent.definition import load_definition
from agent.models import choose_model
from agent.permissions import Permissions
from agent.plugins import build_catalog, definition_file, plugin_dirs_for
from agent.state import ProgressCallback, RunContext, RunState
from agent.transcript import TranscriptWriter, write_run_header
from tools.context import Ledger, ToolContext
from tools.django_celery.facts import Decisions, ProjectFacts
from tools.journal import Journal, ensure_private, run_dir, state_home

_CONTEXTS: dict[str, RunContext] = {}


def build_context(
    options: RunOptions,
    run_id: str,
    progress: ProgressCallback | None = None,
    model: BaseChatModel | None = None,
    model_label: str | None = None,
    home: Path | None = None,
) -> RunContext:
    """Everything a run needs besides its state. `model` overrides the configured one (replay, tests)."""
    home = ensure_private(home or state_home())
    catalog = build_catalog(plugin_dirs_for(options.definition, options.agents_dirs))
    definition = load_definition(definition_file(options), project_root=Path(options.project))
    transcript = TranscriptWriter(run_dir(run_id, home) / "transcript.jsonl")
    if model is None:
        model, model_label = choose_model(definition, options, transcript=transcript)
    context = RunContext(
        definition=definition,
        permissions=Permissions.from_definition(definition, project_root=Path(options.project)),
        model=model,
        model_label=model_label or type(model).__name__,
        skills=catalog.skill_library(),
        commands=catalog.command_library(),
        transcript=transcript,
        home=home,
    )
    if progress is not None:
        context.progress = progress
    _CONTEXTS[run_id] = context
    return context


def write_header(context: RunContext, run_id: str, options: RunOptions) -> None:
    write_run_header(
        context.transcript,
        run_id,
        context.definition.path,
        context.model_label,
        options.model_dump(mode="json"),
    )


def context_for(state: RunState, runtime_context: Any) -> RunContext:
    if isinstance(runtime_context, RunContext):
        return runtime_context
    run_id = state["run_id"]
    if run_id not in _CONTEXTS:
        build_context(RunOptions.model_validate(state["options"]), run_id)
    return _CONTEXTS[run_id]


def release_context(run_id: str) -> None:
    """Forget a finished run's live objects; a long-lived process (a LangGraph server) runs many."""
    _CONTEXTS.pop(run_id, None)


def tool_context(state: RunState, context: RunContext) -> ToolContext:
    """A ToolContext mirroring the state; tools mutate its ledger/decisions, the node writes them back."""
    options = RunOptions.model_validate(state["options"])
    return ToolContext(
        project_root=Path(options.project).resolve(),
        journal=Journal.load(run_dir(state["run_id"], context.home)),
        facts=ProjectFacts.model_validate(state["facts"]) if state.get("facts") else None,
        decisions=Decisions.model_validate(state["decisions"]) if state.get("decisions") else None,
        ledger=Ledger.model_validate(state.get("ledger") or {}),
        interactive=options.interactive,
        allow_network=options.allow_network,
        cache_dir=context.home / "webcache",
    )
