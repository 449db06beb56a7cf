"""The chat's slash commands: their table, how a typed line is read, and what completes at the prompt.

Pure functions with no terminal library, so the rules are tested directly: a line starting with `/` is a
command — at the main prompt and at the agent's questions alike — anything else is free text (or, at a
question, the answer). An unknown command is an error that names the closest known ones, never text
passed on to the model or taken as an answer.
"""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass
from typing import Any

from tools.base import ToolError
from tools.django_celery.setup import BACKENDS, CONSENTS, parse_setup_arguments

SETUP = "/celery:setup"
ADD_BACKEND = "/celery:add-backend"


@dataclass(frozen=True)
class ChatCommand:
    name: str
    arguments: str  # the argument hint shown in /help and in completions ("" = takes none)
    summary: str
    max_words: int | None = 0  # how many arguments it takes (None: any)


COMMANDS: tuple[ChatCommand, ...] = (
    ChatCommand("/help", "", "this list"),
    ChatCommand("/status", "", "the run's phase, decisions, changed files and the checklist so far"),
    ChatCommand("/plan", "", "the plan (TodoWrite) of the current or last run"),
    ChatCommand("/diff", "", "what the latest run that changed something changed (unified diff)"),
    ChatCommand("/undo", "", "put the project back exactly as it was before that run"),
    ChatCommand("/report", "", "the checklist report of the last finished run"),
    ChatCommand("/model", "[id|offline]", "show the model, or choose one for the next run and free text", 1),
    ChatCommand(
        SETUP, "[args]", "integrate Celery: run the agent (e.g. --beat --backend redis --apps a,b)", None
    ),
    ChatCommand(
        ADD_BACKEND, "<backend>", f"run the agent with this result backend ({'|'.join(BACKENDS)})", 1
    ),
    ChatCommand("/continue", "", "continue a run stopped with Ctrl-C (or left paused)"),
    ChatCommand("/exit", "", "leave the chat (also /quit, Ctrl-D)"),
)
BY_NAME = {command.name: command for command in COMMANDS}
ALIASES = {"/quit": "/exit", "/q": "/exit", "/?": "/help"}
SETUP_FLAGS = (
    "--apps",
    "--beat",
    "--no-beat",
    "--backend",
    "--broker",
    "--queues",
    *(f"--{consent.replace('_', '-')}" for consent in CONSENTS),
)


class CommandError(ValueError):
    """A line that starts with `/` but is not a usable command; the message says what to type instead."""


@dataclass(frozen=True)
class CommandLine:
    name: str  # canonical, e.g. "/exit" for "/quit"
    arguments: str = ""


def parse_command(line: str) -> CommandLine | None:
    """The command a line holds, None for free text; CommandError for an unknown or misused command."""
    text = line.strip()
    if not text.startswith("/"):
        return None
    word, _, arguments = text.partition(" ")
    name = ALIASES.get(word.lower(), word.lower())
    command = BY_NAME.get(name)
    if command is None:
        close = difflib.get_close_matches(name, [*BY_NAME, *ALIASES], n=2, cutoff=0.6)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        raise CommandError(f"Unknown command {word}.{hint} /help lists the commands.")
    arguments = arguments.strip()
    check_arguments(command, arguments)
    return CommandLine(name, arguments)


def check_arguments(command: ChatCommand, arguments: str) -> None:
    words = arguments.split()
    usage = f"Usage: {command.name} {command.arguments}".rstrip()
    if command.max_words is not None and len(words) > command.max_words:
        raise CommandError(f"{command.name} takes {_count(command.max_words)}. {usage}")
    if command.name == ADD_BACKEND and (len(words) != 1 or words[0] not in BACKENDS):
        raise CommandError(
            f"{ADD_BACKEND} needs one result backend. Usage: {ADD_BACKEND} {'|'.join(BACKENDS)}"
        )
    if command.name == SETUP:
        try:
            parse_setup_arguments(arguments)
        except ToolError as exc:
            raise CommandError(str(exc)) from exc


def _count(words: int) -> str:
    return "no arguments" if words == 0 else "one argument"


def run_options_for(command: CommandLine) -> dict[str, Any]:
    """What a run-starting command sets in RunOptions: `/celery:setup` arguments become the run's
    $ARGUMENTS and, for the topics they settle, its flags (so the agent does not ask about them)."""
    if command.name == ADD_BACKEND:
        return {"backend": command.arguments}
    args = parse_setup_arguments(command.arguments)
    updates: dict[str, Any] = {"arguments": command.arguments}
    if args.apps is not None:
        updates["apps"] = [label.strip() for label in args.apps.split(",") if label.strip()]
    if args.queues is not None:
        updates["queues"] = [q.strip() for q in args.queues.split(",") if q.strip() and q.strip() != "none"]
    for name, value in (("beat", args.beat), ("backend", args.backend), ("broker_url", args.broker)):
        if value is not None:
            updates[name] = value
    for consent in CONSENTS:  # each consent given settles its question: the agent does not ask it
        if getattr(args, consent) is not None:
            updates[consent] = getattr(args, consent)
    return updates


def completions(text: str) -> list[tuple[str, str]]:
    """(completion of the last word, what it means) for the text before the cursor at the main prompt."""
    if not text.startswith("/"):
        return []
    if " " not in text:
        prefix = text.lower()
        return [(c.name, c.summary) for c in COMMANDS if c.name.startswith(prefix)]
    name, _, rest = text.partition(" ")
    word = rest.split(" ")[-1] if not rest.endswith(" ") else ""
    try:
        previous = shlex.split(rest)[:-1] if word else shlex.split(rest)
    except ValueError:
        return []
    if name == ADD_BACKEND and not previous:
        return [(b, "result backend") for b in BACKENDS if b.startswith(word)]
    if name == SETUP:
        if previous and previous[-1] == "--backend":
            return [(b, "result backend") for b in BACKENDS if b.startswith(word)]
        return [(flag, "") for flag in SETUP_FLAGS if flag.startswith(word) and flag not in previous]
    if name == "/model" and not previous:
        return [("offline", "the deterministic offline policy")] if "offline".startswith(word) else []
    return []


def help_text() -> str:
    width = max(len(f"{c.name} {c.arguments}".rstrip()) for c in COMMANDS)
    rows = [f"  {f'{c.name} {c.arguments}'.rstrip():<{width}}  {c.summary}" for c in COMMANDS]
    return "\n".join(
        [
            "Commands (Tab completes them):",
            *rows,
            "Anything else you type goes to the model (or, at a question, is your answer; Enter takes the "
            "recommended one).",
            "Ctrl-C stops the current step and keeps the conversation; Ctrl-D leaves.",
        ]
    )
