"""The agent's questions and approval prompts at a plain terminal, for `django-integrator run`.

`run` stays a plain `input()` program (no prompt_toolkit, so scripts can pipe answers into it); the full
terminal experience is `django-integrator chat`. Enter takes the recommended answer; `/quit` stops the run
(which puts the project back).
"""

from __future__ import annotations

from collections.abc import Callable

from agent.console import Console
from agent.permission_modes import APPROVAL


def ask_at_terminal(console: Console, question: dict, read: Callable[[str], str] = input) -> str:
    """Show one of the agent's questions (or an approval prompt) and read the answer."""
    console.line()
    if question.get("kind") == APPROVAL:
        console.line(console.paint(f"  ⏵ Allow {question['title']}?", "\033[1m"))
        console.line(f"    ({question['reason']})")
        for line in str(question.get("preview", "")).splitlines():
            console.line(console.paint(f"    {line}", "\033[2m"))
        console.line(
            f"    yes (Enter) · no[, what to do instead] · always = allow {question['scope']} for this run"
        )
    else:
        console.line(console.paint(f"  ? {question['question']}", "\033[1m"))
        if question.get("options"):
            console.line("    options: " + " | ".join(question["options"]))
    try:
        answer = read(f"    [{question['default']}] > ").strip()
    except EOFError:
        answer = ""
    if answer in ("/quit", "/abort"):
        raise KeyboardInterrupt
    return answer or question["default"]
