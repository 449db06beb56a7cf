"""The typed parts of an agent definition, and the error every loading problem becomes."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from agent.checklist import Phase


class DefinitionError(ValueError):
    """A definition that cannot be loaded; the message names the file, the line, the problem and the fix."""

    def __init__(self, path: Path | str, line: int, problem: str, fix: str) -> None:
        super().__init__(f"{path}{f':{line}' if line else ''}: {problem}. {fix}")  # line 0: the whole file
        self.path = Path(path)
        self.line = line


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Directive(_Frozen):
    kind: Literal["skill", "slash_command", "web_fetch"]
    target: str  # "celery:framework-integrations" | "/celery:setup $ARGUMENTS" | a URL
    condition: str | None  # the prose lead-in, e.g. "If result storage needed"; None = unconditional
    when: str | None  # normalised key the runtime evaluates ("results", "beat", ...); None = always
    line: int  # 1-based line in the file


class PhaseSpec(_Frozen):
    number: int
    key: Phase
    title: str
    body: str  # the section's markdown, without its heading
    directives: list[Directive]


class DecisionOption(_Frozen):
    name: str
    description: str
    recommended: bool


class DecisionSpec(_Frozen):
    key: str  # "result_backend" | "periodic_tasks" | "dispatch", or a slug of an unknown heading
    title: str
    options: list[DecisionOption]


class QuestionSpec(_Frozen):
    key: str  # "task_apps" | "beat" | "result_backend" | "queues" | ..., or a slug of an unknown question
    text: str
    line: int
    phase: Phase = "discovery"  # the phase whose section lists it (discovery or analysis)
    when: str | None = None  # its normalised condition ("unsafe_dispatch", "old_settings"); None = always


class AgentDefinition(_Frozen):
    path: Path
    name: str
    description: str
    model: str | None
    color: str | None
    tools: list[str]  # allow rules from `tools` / `allowed-tools`; every known tool when neither is given
    disallowed_tools: list[str]
    skills: list[str]
    max_turns: int | None
    permission_mode: str | None
    body: str  # the markdown body as written
    system_prompt: str  # the body with every `@path` include replaced by the included text
    includes: list[Path]
    phases: list[PhaseSpec]  # discovery, analysis, planning, implementation, verification
    skill_mentions: list[str]
    slash_commands: list[str]
    questions: list[QuestionSpec]
    decisions: list[DecisionSpec]
    checklist: list[str]

    def phase(self, key: Phase) -> PhaseSpec:
        return next(phase for phase in self.phases if phase.key == key)
