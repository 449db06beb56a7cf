"""What a line typed at one of the agent's questions (or approval prompts) means.

A slash command is a command — `/status` at a question shows the status and asks again, `/exit` leaves —
never the answer. Anything else is the answer: Enter takes the recommended default, a number picks one of
the listed options. Approval answers (yes / no[, note] / always) are read by the graph itself
(`agent.permission_modes.read_approval`), so they pass through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent.chat.commands import CommandLine, parse_command
from agent.permission_modes import APPROVAL


@dataclass(frozen=True)
class Answer:
    text: str


def is_approval(payload: dict[str, Any]) -> bool:
    return payload.get("kind") == APPROVAL


def read_reply(line: str, payload: dict[str, Any]) -> Answer | CommandLine:
    """The command a line holds, else the answer to `payload`'s question. CommandError for a bad command."""
    command = parse_command(line)
    if command is not None:
        return command
    text = line.strip()
    if is_approval(payload):
        return Answer(text or str(payload["default"]))
    options = [str(option) for option in payload.get("options") or []]
    if text.isdigit() and 1 <= int(text) <= len(options):
        return Answer(options[int(text) - 1])
    return Answer(text or str(payload["default"]))


def question_lines(payload: dict[str, Any]) -> list[str]:
    """The question as shown: the text, its numbered options, and what Enter takes."""
    lines = [str(payload["question"])]
    options = [str(option) for option in payload.get("options") or []]
    if options:
        lines.append("  " + "   ".join(f"{n}. {option}" for n, option in enumerate(options, start=1)))
    lines.append(f"  Enter = {payload['default']} (recommended) · a /command runs it and asks again")
    return lines


def approval_lines(payload: dict[str, Any]) -> tuple[str, str, str]:
    """(the question, why it is asked, the possible answers); the preview goes between the last two."""
    return (
        f"Allow {payload['title']}?",
        f"  ({payload['reason']})",
        f"  Enter/yes = allow once · no[, what to do instead] · always = allow {payload['scope']} for the rest of "
        "the run",
    )
