"""Terminal output: progress per phase while the run goes, then the checklist with evidence.

Colour only on a terminal and never when NO_COLOR is set; everything stays readable as plain text in
logs and CI. `--json` replaces all of this with one JSON document on stdout.
"""

from __future__ import annotations

import os
import sys
import textwrap
from typing import Any, TextIO

from agent.checklist import PHASES, CheckResult
from agent.report import RunReport

GREEN, RED, YELLOW, DIM, BOLD, RESET = "\033[32m", "\033[31m", "\033[33m", "\033[2m", "\033[1m", "\033[0m"
QUALITY_CHECKS = ("hygiene", "routing", "routing_live")  # phase checks the final report lists rule by rule


def summarise_args(name: str, args: dict[str, Any]) -> str:
    for key in ("command", "file_path", "path", "url", "pattern", "skill", "question"):
        if key in args:
            return str(args[key])
    if name == "TodoWrite":
        return f"{len(args.get('todos', []))} steps"
    return ""


class Console:
    def __init__(self, stream: TextIO | None = None, verbose: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.verbose = verbose
        self.color = self.stream.isatty() and not os.environ.get("NO_COLOR")

    def paint(self, text: str, *styles: str) -> str:
        return "".join(styles) + text + RESET if self.color and styles else text

    def line(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def mark(self, passed: bool) -> str:
        return self.paint("✓", GREEN) if passed else self.paint("✗", RED)

    # ----- progress (the runner's callback) --------------------------------------------------------
    def progress(self, event: str, data: dict[str, Any]) -> None:
        handler = getattr(self, f"_on_{event}", None)
        if handler is not None:
            handler(data)

    def _on_phase(self, data: dict[str, Any]) -> None:
        number = PHASES.index(data["phase"]) + 1
        self.line()
        self.line(self.paint(f"▸ {number}/5 {data['phase']}", BOLD) + self.paint(f" — {data['title']}", DIM))

    def _on_facts(self, data: dict[str, Any]) -> None:
        facts, decisions = data["facts"], data["decisions"]
        apps = ", ".join(a["label"] for a in facts["apps"]) or "none"
        self.line(
            f"    found Django {facts['django_version']} project '{facts['project_package']}' "
            f"(settings {facts['settings_module']}, {facts['database_engine'].rsplit('.', 1)[-1]}), apps: {apps}"
        )
        self.line(self.paint(f"    interpreter {facts['interpreter']}", DIM))
        existing = facts["existing"]
        if existing.get("celery_module"):
            self.line(f"    existing Celery setup: {existing['celery_module']}")
        sources = decisions.get("sources", {})
        if any(v == "flag" for v in sources.values()):
            self.line(
                self.paint(f"    from flags: {', '.join(k for k, v in sources.items() if v == 'flag')}", DIM)
            )

    def _on_model(self, data: dict[str, Any]) -> None:
        content = data.get("content")
        if self.verbose and isinstance(content, str) and content.strip():
            self.line(self.paint(textwrap.indent(content.strip(), "    │ "), DIM))

    def _on_tool(self, data: dict[str, Any]) -> None:
        failed = data["status"] == "error"
        detail = summarise_args(data["name"], data.get("args", {}))
        self.line(f"    {self.mark(not failed)} {data['name']} {self.paint(detail[:90], DIM)}")
        content = str(data.get("content", ""))
        first = content.strip().splitlines()[0] if content.strip() else ""
        if failed or data["name"] in ("AskUserQuestion", "SlashCommand", "WebFetch"):
            self.line(self.paint(f"        {first[:140]}", RED if failed else DIM))

    def _on_live(self, data: dict[str, Any]) -> None:
        if data["reused_from"]:
            self.line(
                self.paint(
                    f"    gate: reusing the live checks of run {data['reused_from']} (identical tree; "
                    "--reverify starts a worker)",
                    DIM,
                )
            )
        else:
            self.line(self.paint("    gate: starting a Celery worker to verify (a few seconds)…", DIM))

    def _on_gate(self, data: dict[str, Any]) -> None:
        results: list[CheckResult] = data["results"]
        marks = "  ".join(
            f"{self.mark(r.passed)} {f'#{r.number} ' if r.number else ''}{r.key}" for r in results
        )
        self.line(f"    gate (attempt {data['attempt']}): {marks}")
        for failed in (r for r in results if not r.passed):
            self.line(self.paint(textwrap.indent(textwrap.fill(failed.evidence, 100), "        "), YELLOW))

    def _on_error(self, data: dict[str, Any]) -> None:
        self.line(self.paint(f"    error: {data['message']}", RED))

    # ----- the final report ------------------------------------------------------------------------
    def report(self, report: RunReport) -> None:
        self.line()
        self.line(self.paint("Self-verification checklist", BOLD))
        for check in report.checklist:
            self.line(f"  {self.mark(check.passed)} {check.number:>2}. {check.title}")
            self.line(self.paint(textwrap.indent(textwrap.fill(check.evidence, 96), "        "), DIM))
        quality = {
            c.key: c for checks in report.phase_checks.values() for c in checks if c.key in QUALITY_CHECKS
        }
        if quality:
            self.line()
            self.line(self.paint("Production hygiene", BOLD))
            for check in quality.values():  # one line per rule: "✓ rule: file:line evidence"
                self.line(f"  {self.mark(check.passed)} {check.title}")
                for entry in check.evidence.split(" | "):
                    self.line(self.paint(textwrap.indent(textwrap.fill(entry, 96), "        "), DIM))
        usage = report.usage
        self.line()
        tally = f"{report.passed_count}/{len(report.checklist)} checklist items passed"
        self.line(
            self.paint(tally, BOLD, GREEN if report.status == "passed" else RED)
            + f" · {usage.get('model_calls', 0)} model calls · "
            f"{usage.get('prompt_tokens', 0) + usage.get('completion_tokens', 0)} tokens · "
            f"{usage.get('tool_calls', 0)} tool calls · {report.elapsed_s:.1f} s"
        )
        if report.reused_from:
            self.line(
                f"Nothing to be done: the project is byte-identical to the verified result of run "
                f"{report.reused_from}. Discovery, items 2–9 and the hygiene rules were checked again; items 1, "
                "10 and 11 and item 7's live part are that run's (said above); no model was called, no file "
                "changed. --reverify runs everything again, a live worker included."
            )
        if report.error:
            self.line(self.paint(f"Stopped: {report.error}", RED))
        if report.rolled_back:
            self.line(
                "The run did not pass, so the project was put back exactly as it was (nothing changed)."
            )
        elif report.changed_files:
            self.line("Changed files: " + ", ".join(report.changed_files))
            self.line(self.paint(f"Undo with: django-integrator undo {report.project}", DIM))
        self.line(self.paint(f"Transcript: {report.transcript}", DIM))
