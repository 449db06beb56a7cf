"""The public input of the embedded and served graph, and how it becomes the options of one run.

A caller gives as little as it has: a `project` path and, if it wants, run `options` (the CLI's flags by
their RunOptions names), or only a conversation — a supervisor hands over its `messages`, and the project
is the newest absolute path in them that is a folder on this machine. Defaults fixed by the embedding code
(`as_subgraph(allow_network=False)`) come first, the request's options over them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

from langchain_core.messages import AnyMessage, BaseMessage
from langgraph.graph.message import add_messages
from pydantic import BaseModel, ValidationError, create_model
from typing_extensions import TypedDict

from agent.config import RunOptions

# RunOptions without `project`: the schema of `options`, kept in step with RunOptions by construction.
RunSettings: type[BaseModel] = create_model(
    "RunSettings",
    **{
        name: (field.annotation, field)
        for name, field in RunOptions.model_fields.items()
        if name != "project"
    },
)  # type: ignore[call-overload]

# An absolute or home-relative path in free text, up to a space, quote or bracket.
PATH_IN_TEXT = re.compile(r"(?<![\w.~/])(~?/[^\s'\"`<>()\[\]{},;]+)")
TRAILING_PUNCTUATION = ".:!?"


class IntegrationRequest(TypedDict, total=False):
    """The graph's input: `project` and/or `messages` naming it, and optional run `options`."""

    project: str
    options: RunSettings  # type: ignore[valid-type]
    messages: Annotated[list[AnyMessage], add_messages]


class RequestError(ValueError):
    """The request names no usable project or has invalid options; the message says what to send."""


def project_from_messages(messages: Sequence[BaseMessage]) -> str | None:
    """The newest absolute path in the conversation that is an existing folder."""
    for message in reversed(messages):
        for token in PATH_IN_TEXT.findall(message.text):
            candidate = Path(token.rstrip(TRAILING_PUNCTUATION)).expanduser()
            if candidate.is_dir():
                return str(candidate.resolve())
    return None


def run_options(request: Mapping[str, Any], defaults: Mapping[str, Any]) -> RunOptions:
    """RunOptions for a request: the embedding's defaults, then the request's options and project."""
    project = request.get("project") or project_from_messages(request.get("messages") or [])
    if not project:
        raise RequestError(
            "No Django project given: send `project` (the folder holding manage.py), or name its absolute "
            "path in a message, e.g. 'Integrate Celery into /srv/mysite'."
        )
    raw = request.get("options") or {}
    options = raw.model_dump(exclude_unset=True) if isinstance(raw, BaseModel) else dict(raw)
    if "project" in options:
        raise RequestError("`project` goes beside `options`, not inside it.")
    try:
        return RunOptions.model_validate(
            {**defaults, **options, "project": str(Path(str(project)).expanduser().resolve())}
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise RequestError(f"Invalid run options: {problems}.") from None
