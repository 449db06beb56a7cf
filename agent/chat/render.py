"""What the chat prints while the agent works: phases, tool calls, gates, the model's text as it streams.

Built on rich, which degrades to plain text when the output is not a terminal (and honours NO_COLOR), so
the same session reads well in a terminal, a tmux pane and a log. The final report reuses the `run`
command's renderer, so `/report` looks exactly like the end of `django-integrator run`.
"""

from __future__ import annotations

import textwrap
from typing import Any

from rich.console import Console as RichConsole
from rich.status import Status
from rich.text import Text

from agent.checklist import PHASES, CheckResult
from agent.console import Console as PlainConsole
from agent.console import summarise_args
from agent.report import RunReport

DIFF_STYLES = (("+++", "bold"), ("---", "bold"), ("+", "green"), ("-", "red"), ("@@", "cyan"))


class RunView:
    """The runner's progress callback and text sink, printing to a rich console."""

    def __init__(self, console: RichConsole) -> None:
        self.console = console
        self._streaming = False  # in the middle of a model message
        self._status: Status | None = None

    # ----- the runner's callbacks -------------------------------------------------------------------
    def progress(self, event: str, data: dict[str, Any]) -> None:
        handler = getattr(self, f"_on_{event}", None)
        if handler is not None:
            handler(data)

    def text(self, piece: str) -> None:
        """A piece of the model's text, printed as it arrives."""
        if not self._streaming:
            self.console.print("  ● ", style="cyan", end="")
            self._streaming = True
        self.console.print(piece, end="", markup=False, highlight=False, soft_wrap=True)

    def stop(self) -> None:
        """End whatever is in progress on screen (a streamed line, a spinner): the step ended or was stopped."""
        self._end_text()
        if self._status is not None:
            self._status.stop()
            self._status = None

    # ----- events -----------------------------------------------------------------------------------
    def _end_text(self) -> None:
        if self._streaming:
            self.console.print()
            self._streaming = False

    def _on_model(self, data: dict[str, Any]) -> None:
        self._end_text()

    def _on_phase(self, data: dict[str, Any]) -> None:
        self.stop()
        number = PHASES.index(data["phase"]) + 1
        self.console.rule(f"[bold]{number}/5 {data['phase']}[/] [dim]— {data['title']}[/]", align="left")

    def _on_facts(self, data: dict[str, Any]) -> None:
        facts = data["facts"]
        apps = ", ".join(a["label"] for a in facts["apps"]) or "none"
        engine = facts["database_engine"].rsplit(".", 1)[-1]
        self.console.print(
            f"  found Django {facts['django_version']} project '{facts['project_package']}' "
            f"(settings {facts['settings_module']}, {engine}), apps: {apps}",
            markup=False,
        )
        if facts["existing"].get("celery_module"):
            self.console.print(f"  existing Celery setup: {facts['existing']['celery_module']}", markup=False)

    def _on_tool(self, data: dict[str, Any]) -> None:
        self._end_text()
        failed = data["status"] == "error"
        line = Text("    ")
        line.append("✗ " if failed else "✓ ", style="red" if failed else "green")
        line.append(data["name"] + " ", style="bold")
        line.append(summarise_args(data["name"], data.get("args", {}))[:90], style="dim")
        self.console.print(line)
        content = str(data.get("content", "")).strip()
        if content and (failed or data["name"] in ("AskUserQuestion", "SlashCommand")):
            self.console.print(
                Text("      " + content.splitlines()[0][:140], style="red" if failed else "dim")
            )

    def _on_gate_start(self, data: dict[str, Any]) -> None:
        self._end_text()
        what = (
            "starting a Celery worker to verify (a few seconds)…"
            if data["phase"] == "verification"
            else f"checking the {data['phase']} gate…"
        )
        self._status = self.console.status(what, spinner="dots")
        self._status.start()

    def _on_gate(self, data: dict[str, Any]) -> None:
        self.stop()
        results: list[CheckResult] = data["results"]
        line = Text(f"    gate (attempt {data['attempt']}): ")
        for result in results:
            line.append("✓ " if result.passed else "✗ ", style="green" if result.passed else "red")
            line.append(f"{f'#{result.number} ' if result.number else ''}{result.key}  ")
        self.console.print(line)
        for failed in (r for r in results if not r.passed):
            self.console.print(Text(textwrap.indent(textwrap.fill(failed.evidence, 100), "      "), "yellow"))

    def _on_error(self, data: dict[str, Any]) -> None:
        self.stop()
        self.console.print(Text(f"    error: {data['message']}", style="red"))


def print_report(console: RichConsole, report: RunReport) -> None:
    """The same checklist report `django-integrator run` ends with."""
    PlainConsole(stream=console.file).report(report)


def print_diff(console: RichConsole, diff: str) -> None:
    for line in diff.splitlines():
        style = next((style for prefix, style in DIFF_STYLES if line.startswith(prefix)), "")
        console.print(Text(line, style=style), soft_wrap=True)
