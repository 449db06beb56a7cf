"""What every tool is given: the project it may touch, the journal recording its changes, the run ledger.

Tools are built per run from a `ToolContext` (`tools.registry.build_tools(ctx)`). They report what they did
that the gates care about (documentation consulted, skills loaded, todos, answers, slash commands run)
into `ctx.ledger`; the graph copies the ledger into its state after each batch of calls.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from tools.django_celery.facts import Decisions, ProjectFacts
from tools.journal import Journal
from tools.model_keys import without_model_keys

DocSource = Literal["network", "cache", "bundled"]


class DocRecord(BaseModel):
    url: str
    source: DocSource  # where the text came from: the live site, the on-disk cache, or a bundled reference
    chars: int


class TodoItem(BaseModel):
    content: str
    status: Literal["pending", "in_progress", "completed"] = "pending"


class AnswerRecord(BaseModel):
    question: str
    answer: str
    source: Literal["asked", "default"]  # "default": non-interactive run took the recommended option


class CommandRecord(BaseModel):
    command: str  # e.g. "/celery:setup"
    arguments: str
    ok: bool
    changed_files: list[str] = Field(default_factory=list)


class Ledger(BaseModel):
    docs: list[DocRecord] = Field(default_factory=list)
    skills: list[str] = Field(default_factory=list)
    todos: list[TodoItem] = Field(default_factory=list)
    answers: dict[str, AnswerRecord] = Field(default_factory=dict)  # question id -> answer
    commands: list[CommandRecord] = Field(default_factory=list)


@dataclass
class ToolContext:
    project_root: Path
    journal: Journal
    facts: ProjectFacts | None = None
    decisions: Decisions | None = None
    ledger: Ledger = field(default_factory=Ledger)
    interactive: bool = False
    allow_network: bool = True  # WebFetch tries the live site; False = cache and bundled references only
    cache_dir: Path | None = None  # WebFetch's on-disk cache; None = <state home>/webcache
    bash_timeout: float = 120.0
    output_limit: int = 30_000  # characters of tool output returned to the model

    def subprocess_env(self) -> dict[str, str]:
        """Environment for commands run in the project: its interpreter first on PATH, no bytecode written.

        PYTHONDONTWRITEBYTECODE keeps `__pycache__` folders out of the user's tree, so a run (and its undo)
        leaves the project byte-identical.
        """
        env = without_model_keys(dict(os.environ))
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("DJANGO_SETTINGS_MODULE", None)
        if self.facts is not None:
            bin_dir = str(Path(self.facts.interpreter).parent)
            env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
        return env
