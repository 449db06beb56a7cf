"""The messages a phase starts from: system prompt, phase kickoff with run facts, and gate feedback.

The system prompt is the definition's body (includes resolved), the `<available_skills>` block and the
phase's instructions. The kickoff carries the definition's own section for the phase, the summaries of
earlier phases (not their whole history) and the compact run facts as a JSON block that a language model
reads as context and the offline policy parses.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

from agent.checklist import PHASES, CheckResult
from agent.definition import AgentDefinition
from agent.resources import PROMPTS_DIR
from tools.skills import SkillLibrary

FINISH_RULE = (
    "When this phase's work is done, call the `finish_phase` tool with a two-sentence summary. The runtime "
    "then checks the phase's checklist items; any that fail come back to you with their evidence."
)


def phase_instructions(phase: str) -> str:
    path = PROMPTS_DIR / "phases" / f"{phase}.md"
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def system_message(definition: AgentDefinition, skills: SkillLibrary, phase: str) -> SystemMessage:
    parts = [
        definition.system_prompt.strip(),
        skills.available_skills_block(),
        phase_instructions(phase),
        FINISH_RULE,
    ]
    return SystemMessage(content="\n\n".join(p for p in parts if p))


def kickoff_message(
    definition: AgentDefinition,
    phase: str,
    run_facts: dict[str, Any],
    summaries: dict[str, str],
) -> HumanMessage:
    spec = definition.phase(phase)  # type: ignore[arg-type]
    number = PHASES.index(phase) + 1  # type: ignore[arg-type]
    earlier = [f"- {p}: {summaries[p]}" for p in PHASES[: number - 1] if p in summaries]
    lines = [f"## Phase {number}/5: {phase} — {spec.title}", "", spec.body.strip(), ""]
    if earlier:
        lines += ["### Earlier phases", *earlier, ""]
    lines += [
        "### Run facts",
        "```json run-facts",
        json.dumps(run_facts, indent=1, sort_keys=True),
        "```",
        "",
        FINISH_RULE,
    ]
    return HumanMessage(content="\n".join(lines))


def gate_feedback_message(
    phase: str, failed: list[CheckResult], attempt: int, max_tries: int
) -> HumanMessage:
    items = "\n".join(f"- #{r.number} {r.key} ({r.title}): {r.evidence}" for r in failed)
    return HumanMessage(
        content=(
            f"The {phase} gate failed (attempt {attempt} of {max_tries}). These checklist items did not pass:\n"
            f"{items}\n\nFix them with your tools, then call `finish_phase` again."
        )
    )
