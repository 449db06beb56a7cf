"""`django-integrator chat`: an interactive session in the terminal.

The agent works through its phases and stops to ask its targeted questions; the answer typed at the
prompt (or Enter for the recommended one) goes back into the run. When the run ends, the session stays
open for follow-ups on what was done: `diff`, `report`, `undo`, `quit`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from agent.config import RunOptions
from agent.console import Console
from agent.report import RunReport
from agent.runner import Runner
from tools.journal import Journal

HELP = """commands:
  diff     show what the run changed (unified diff)
  report   show the checklist again
  undo     put the project back exactly as it was, then leave
  quit     leave (the changes stay; `django-integrator undo PATH` reverts them later)"""


def ask_at_terminal(console: Console, question: dict, read: Callable[[str], str] = input) -> str:
    """Show one of the agent's questions; Enter takes the recommended answer, /quit stops (and undoes)."""
    console.line()
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


class ChatSession:
    def __init__(
        self, options: RunOptions, read: Callable[[str], str] = input, console: Console | None = None
    ):
        self.options = options
        self.read = read
        self.console = console or Console()
        self.runner = Runner(options, progress=self.console.progress)

    def ask(self, question: dict) -> str:
        return ask_at_terminal(self.console, question, self.read)

    def run(self) -> RunReport:
        outcome = self.runner.start()
        while outcome.question is not None:
            outcome = self.runner.answer(self.ask(outcome.question))
        assert outcome.report is not None
        return outcome.report

    def follow_up(self, report: RunReport) -> None:
        """The prompt after the run: look at the diff, the report, or undo."""
        journal = Journal.load(self.runner.home / "runs" / report.run_id)
        self.console.line()
        self.console.line(HELP)
        while True:
            try:
                command = self.read("django-integrator> ").strip().lower()
            except EOFError:
                return
            if command in ("quit", "exit", "q", ""):
                return
            if command == "diff":
                self.console.line(journal.diff() or "(nothing changed)")
            elif command == "report":
                self.console.report(report)
            elif command == "undo":
                restored = journal.rollback()
                self.console.line(
                    f"Restored {len(restored)} file(s); the project is as it was before the run."
                )
                return
            else:
                self.console.line(HELP)


def chat(options: RunOptions) -> int:
    try:
        session = ChatSession(options)
    except ValueError as exc:  # a broken definition or model setting, the project locked by another run
        print(f"django-integrator: {exc}", file=sys.stderr)
        return 2
    try:
        report = session.run()
    except KeyboardInterrupt:
        session.console.line("\nStopped: the project was put back exactly as it was.")
        return 130
    finally:
        session.runner.close()
    session.console.report(report)
    if report.status == "passed" and sys.stdin.isatty():
        session.follow_up(report)
    return 0 if report.status == "passed" else 1
