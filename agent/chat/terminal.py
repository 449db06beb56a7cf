"""Line input for the chat: prompt_toolkit, with a history file, Tab completion and the usual editing keys.

Up/Down walk the history (kept in the state home, so it survives sessions; answers to the agent's
questions have a history of their own and never fill the command history), Tab completes slash commands
and their arguments, a menu of commands opens as soon as a line starts with `/`. Ctrl-C raises
KeyboardInterrupt and Ctrl-D (on an empty line) EOFError, which the session turns into "stop" and "leave".
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, InMemoryHistory

from agent.chat.commands import completions


class SlashCompleter(Completer):
    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        text = document.text_before_cursor
        word = text if " " not in text else text.rsplit(" ", 1)[-1]
        for completion, meaning in completions(text):
            yield Completion(completion, start_position=-len(word), display_meta=meaning)


class PromptTerminal:
    """`prompt(message)` for the main prompt, `prompt(message, answer=True)` at the agent's questions."""

    def __init__(self, history_file: Path, **io: Any) -> None:
        """`io`: prompt_toolkit's `input`/`output` (a pipe in tests; the real terminal by default)."""
        history_file.parent.mkdir(parents=True, exist_ok=True)
        common = {"completer": SlashCompleter(), "complete_while_typing": True, **io}
        self._main: PromptSession[str] = PromptSession(
            history=FileHistory(str(history_file)), auto_suggest=AutoSuggestFromHistory(), **common
        )
        self._answers: PromptSession[str] = PromptSession(history=InMemoryHistory(), **common)

    def prompt(self, message: str, answer: bool = False) -> str:
        return (self._answers if answer else self._main).prompt(message)
