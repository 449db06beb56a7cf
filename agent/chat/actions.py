"""What the chat's commands do, and the free-text exchange with the model.

`/diff` and `/undo` act on the latest run whose changes are still in the project — the run in progress
when there is one, else the newest run that changed something, passed-over runs named — exactly like the
`diff` and `undo` commands of the CLI (`tools.run_selection`), and each says which run it acted on.
"""

from __future__ import annotations

import json
import textwrap
from typing import TYPE_CHECKING, Any

from langchain_core.language_models.chat_models import BaseChatModel

from agent.chat.commands import CommandError, CommandLine, help_text, parse_command
from agent.chat.free_text import MODEL_COMMANDS, system_message
from agent.chat.render import print_diff, print_report
from agent.chat.views import plan_lines, status_lines
from agent.config import OFFLINE, RunOptions
from agent.models import ModelConfigError, choose_model
from agent.runner import roll_back_unfinished, saved_state
from agent.session import run_dir
from tools.journal import Journal
from tools.run_selection import select_run

if TYPE_CHECKING:
    from agent.chat.session import ChatSession


class Actions:
    def __init__(self, session: ChatSession) -> None:
        self.session = session
        self._chat_model: tuple[str | None, BaseChatModel, str] | None = None  # (options.model, model, label)

    def run(self, command: CommandLine) -> None:
        handler = getattr(self, "_" + command.name.lstrip("/"))
        handler(command.arguments)

    # ----- the run's state --------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return saved_state(self.session.run_id, self.session.home) if self.session.run_id else {}

    def changed_so_far(self) -> list[str]:
        folder = run_dir(self.session.run_id or "", self.session.home)
        return Journal.load(folder).changed_files() if (folder / "journal.json").exists() else []

    def options_of(self, run_id: str) -> RunOptions:
        """The options a run was started with (its transcript's header), to continue it as it was."""
        transcript = run_dir(run_id, self.session.home) / "transcript.jsonl"
        with transcript.open(encoding="utf-8") as handle:
            header = json.loads(handle.readline())
        return RunOptions.model_validate(header["options"])

    # ----- commands ---------------------------------------------------------------------------------
    def _help(self, _: str) -> None:
        self.session.say(help_text())

    def _status(self, _: str) -> None:
        session = self.session
        if session.run_id is None:
            session.say("No run in this conversation yet: /celery:setup starts one.")
            selected = select_run(session.project, home=session.home)
            if selected is not None:
                session.say(f"Changes in place from {selected.description()}: /diff shows them.", "dim")
            return
        folder = run_dir(session.run_id, session.home)
        undone = (folder / "journal.json").exists() and Journal.load(folder).index.status == "rolled_back"
        run_state = "undone" if undone else session.run_state
        lines = status_lines(
            session.run_id, run_state, self.state(), self.changed_so_far(), session.console.width
        )
        for line in lines:
            session.say(line)

    def _plan(self, _: str) -> None:
        if self.session.run_id is None:
            self.session.say("No run in this conversation yet: /celery:setup starts one.")
            return
        for line in plan_lines(self.state()):
            self.session.say(line)

    def _report(self, _: str) -> None:
        session = self.session
        if session.last_report is not None:
            print_report(session.console, session.last_report)
        elif session.run_id is not None:
            session.say(f"Run {session.run_id} has not finished yet: /status shows where it stands.")
        else:
            session.say("No run has finished in this conversation: /celery:setup starts one.")

    def _diff(self, _: str) -> None:
        session = self.session
        selected = select_run(session.project, home=session.home)
        if selected is None:
            session.say("No run of this project has changes still in place.")
            return
        session.say(f"Changes of {selected.description()}, {len(selected.changed)} file(s):", "bold")
        print_diff(session.console, selected.journal.diff())

    def _undo(self, _: str) -> None:
        self.undo()

    def undo(self) -> None:
        """Put back the run not yet finished, else the latest run whose changes are still in place."""
        session = self.session
        if session.run_state in ("waiting", "paused") and session.run_id is not None:
            restored = roll_back_unfinished(session.run_id, session.home)
            session.say(
                f"Stopped run {session.run_id} and put the project back: restored {len(restored)} file(s)."
            )
            session.drop_runner("undone")
            return
        selected = select_run(session.project, home=session.home)
        if selected is None:
            session.say("Nothing to undo: no run of this project has changes still in place.")
            return
        restored = selected.journal.rollback()
        session.conversation.add("run", run_id=selected.run_id, status="undone")
        session.say(
            f"Undid {selected.description()}: restored {len(restored)} file(s)"
            + (": " + ", ".join(restored) if restored else ".")
        )

    def _model(self, arguments: str) -> None:
        session = self.session
        if arguments:
            candidate = session.options.model_copy(update={"model": arguments})
            try:
                _, label = choose_model(session.definition, candidate)
            except ModelConfigError as exc:
                session.warn(str(exc))
                return
            session.options, session.model, self._chat_model = candidate, None, None
            session.say(f"Model for the next run and free text: {label}.")
            return
        label = "scripted model (given by the caller)" if session.model is not None else self.model_label()
        session.say(
            f"Model: {label}. /model <id> picks another (from your endpoint), /model {OFFLINE} the policy."
        )

    def model_label(self) -> str:
        try:
            return choose_model(self.session.definition, self.session.options)[1]
        except ModelConfigError as exc:
            return f"none usable ({exc})"

    # ----- free text --------------------------------------------------------------------------------
    def free_text(self, text: str) -> None:
        session = self.session
        model = self._model_for_chat()
        if model is None:
            return
        system = system_message(session.definition, self.chat_facts())
        try:
            reply = session.free_text.reply(model, system, text, session.view.text)
        except KeyboardInterrupt:
            session.view.stop()
            session.say("(stopped; the conversation goes on)", "dim")
            return
        except Exception as exc:  # the endpoint is down or refuses us: say so, keep the session
            session.view.stop()
            session.warn(f"The model endpoint failed: {type(exc).__name__}: {exc}")
            return
        session.view.stop()
        session.conversation.add("assistant", text=reply.text)
        if reply.command is not None and reply.call_id is not None:
            session.free_text.command_result(reply.call_id, self._run_for_model(reply.command))

    def _run_for_model(self, line: str) -> str:
        try:
            command = parse_command(line)
        except CommandError as exc:
            return f"Not run: {exc}"
        if command is None or command.name not in MODEL_COMMANDS:
            return f"Not run: the model may run only {', '.join(MODEL_COMMANDS)}."
        self.session.say(f"● {line} (run for you; Ctrl-C stops it)", "cyan")
        self.session.conversation.add("command", line=line, by="model")
        self.session.execute(command)
        report = self.session.last_report
        if report is not None and report.run_id == self.session.run_id:
            return (
                f"Ran {line}: run {report.run_id} {report.status}, {report.passed_count}/11 checklist items."
            )
        return f"Ran {line}; the user sees its output. Run state: {self.session.run_state}."

    def _model_for_chat(self) -> BaseChatModel | None:
        session = self.session
        if session.model is not None:
            return session.model
        if self._chat_model is None or self._chat_model[0] != session.options.model:
            try:
                model, label = choose_model(session.definition, session.options)
            except ModelConfigError as exc:
                session.warn(str(exc))
                return None
            self._chat_model = (session.options.model, model, label)
        return self._chat_model[1]

    def chat_facts(self) -> dict[str, Any]:
        session = self.session
        report = session.last_report
        state = self.state()
        return {
            "project": str(session.project),
            "permission_mode": session.options.permission_mode,
            "run": {"id": session.run_id, "state": session.run_state, "phase": state.get("phase")},
            "decisions": state.get("decisions"),
            "last_report": None
            if report is None
            else {
                "status": report.status,
                "passed": report.passed_count,
                "changed_files": report.changed_files,
            },
        }

    def show_preview(self, payload: dict[str, Any]) -> None:
        preview = str(payload.get("preview", ""))
        if payload.get("tool") in ("Write", "Edit") and preview.startswith(("---", "+++")):
            print_diff(self.session.console, preview)
        elif preview:
            self.session.say(textwrap.indent(preview, "  "), "dim")
