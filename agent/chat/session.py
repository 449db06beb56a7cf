"""The chat session: the prompt loop, the runs it starts, the agent's questions, and leaving safely.

One run at a time. A run goes until it ends or stops at one of the agent's questions (or an approval
prompt); a slash command typed there runs and the question is asked again. Ctrl-C stops the current step:
the run stays at its last checkpoint (`/continue` picks it up, `/undo` puts the project back) and the
conversation goes on. Leaving with a run unfinished asks whether to put the project back first (yes by
default), so nobody walks away from a half-integrated project by accident.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from langchain_core.language_models.chat_models import BaseChatModel
from rich.console import Console as RichConsole
from rich.text import Text

from agent.chat.actions import Actions
from agent.chat.commands import ADD_BACKEND, SETUP, CommandError, CommandLine, parse_command, run_options_for
from agent.chat.conversation import Conversation
from agent.chat.free_text import FreeTextConversation
from agent.chat.render import RunView, print_report
from agent.chat.replies import Answer, approval_lines, is_approval, question_lines, read_reply
from agent.config import RunOptions
from agent.ctrl_c import CtrlCLatch
from agent.definition import load_definition
from agent.permission_modes import effective_mode
from agent.plugins import context_warnings, definition_file
from agent.report import RunReport
from agent.runner import NothingToResume, Runner, RunOutcome
from tools.journal import state_home


class Terminal(Protocol):
    def prompt(self, message: str, answer: bool = False) -> str: ...


class ChatSession:
    def __init__(
        self,
        options: RunOptions,
        terminal: Terminal,
        console: RichConsole,
        home: Path | None = None,
        model: BaseChatModel | None = None,
        conversation: Conversation | None = None,
    ) -> None:
        """`model` replaces the configured one for runs and free text (tests feed a scripted server)."""
        self.terminal = terminal
        self.console = console
        self.home = home or state_home()
        self.project = Path(options.project)
        self.definition = load_definition(definition_file(options), project_root=self.project)
        mode = effective_mode(options.permission_mode, self.definition.permission_mode, "ask")
        self.options = options.model_copy(update={"permission_mode": mode})
        self.view = RunView(console)
        self.conversation = conversation or Conversation.start(self.home, self.project)
        self.free_text = FreeTextConversation(self.conversation.exchanges())
        self.model = model
        self.runner: Runner | None = None
        self.run_id: str | None = None  # the run this conversation is on: current, paused or last finished
        self.run_state = "none"  # none | waiting (at a question) | paused | finished
        self.last_report: RunReport | None = None
        self.leaving = False
        self.ctrl_c = CtrlCLatch()
        self.actions = Actions(self)

    # ----- output -----------------------------------------------------------------------------------
    def say(self, text: str, style: str = "") -> None:
        self.console.print(Text(text, style=style), soft_wrap=True)

    def warn(self, text: str) -> None:
        self.say(text, "yellow")

    # ----- the prompt loop --------------------------------------------------------------------------
    def loop(self) -> int:
        """Read and handle lines until /exit, Ctrl-D or a second Ctrl-C; 1 when the last run failed."""
        armed = False
        while not self.leaving:
            try:
                line = self.terminal.prompt("(paused) › " if self.run_state == "paused" else "› ")
            except KeyboardInterrupt:
                if armed:
                    break
                self.say("(Ctrl-C again, /exit or Ctrl-D leaves)", "dim")
                armed = True
                continue
            except EOFError:
                break
            armed = False
            try:
                self.handle(line)
            except KeyboardInterrupt:  # a command or a reply cut short; `/undo` again finishes an undo
                self.view.stop()
                self.say("(stopped; the conversation goes on)", "dim")
        self.leave()
        return 1 if self.last_report is not None and self.last_report.status != "passed" else 0

    def handle(self, line: str) -> None:
        text = line.strip()
        if not text:
            return
        try:
            command = parse_command(text)
        except CommandError as exc:
            self.warn(str(exc))
            return
        if command is None:
            self.conversation.add("user", text=text)
            self.actions.free_text(text)
        else:
            self.conversation.add("command", line=text)
            self.execute(command)

    def execute(self, command: CommandLine) -> None:
        if command.name in (SETUP, ADD_BACKEND):
            self.start_run(run_options_for(command))
        elif command.name == "/exit":
            self.leaving = True
        elif command.name == "/continue":
            self.continue_run()
        else:
            self.actions.run(command)

    # ----- runs -------------------------------------------------------------------------------------
    def start_run(self, updates: dict[str, Any]) -> None:
        if self.run_state in ("waiting", "paused"):
            self.warn(f"Run {self.run_id} has not finished: /continue it, or /undo to drop it first.")
            return
        options = self.options.model_copy(update=updates)
        runner = self._runner(options)
        if runner is None:
            return
        for warning in context_warnings(runner.context, options):
            self.warn(f"warning: {warning}")
        self.say(
            f"run {runner.run_id} · model {runner.context.model_label} · permissions {options.permission_mode}",
            "dim",
        )
        self.conversation.add("run", run_id=runner.run_id, status="started")
        self.drive(runner.start)

    def continue_run(self) -> None:
        if self.run_state == "waiting":
            self.warn("The run is waiting for your answer to the question above.")
            return
        if self.run_state != "paused" or self.run_id is None:
            self.warn("No run to continue: /celery:setup starts one.")
            return
        if self.runner is None:  # paused in an earlier session (`--resume`)
            self.runner = self._runner(self.actions.options_of(self.run_id), self.run_id)
            if self.runner is None:
                return
        self.drive(self.runner.resume)

    def _runner(self, options: RunOptions, run_id: str | None = None) -> Runner | None:
        try:
            runner = Runner(
                options,
                progress=self._progress,
                model=self.model,
                model_label="scripted model" if self.model is not None else None,
                run_id=run_id,
                home=self.home,
                on_text=self._text,
                pause_on_interrupt=True,
            )
        except ValueError as exc:  # a broken definition or model setting, the project locked by another run
            self.warn(str(exc))
            return None
        self.runner, self.run_id, self.run_state = runner, runner.run_id, "waiting"
        return runner

    def _progress(self, event: str, data: dict[str, Any]) -> None:
        self.ctrl_c.check()
        self.view.progress(event, data)

    def _text(self, piece: str) -> None:
        self.ctrl_c.check()
        self.view.text(piece)

    def drive(self, step: Callable[[], RunOutcome]) -> None:
        """Run until the run ends, or stops: Ctrl-C, /exit or /undo at a question."""
        outcome = self._step(step)
        while outcome is not None and outcome.question is not None:
            answer = self.ask(outcome.question)
            if answer is None:
                return
            assert self.runner is not None
            outcome = self._step(partial(self.runner.answer, answer))
        if outcome is not None and outcome.report is not None:
            self.finished(outcome.report)

    def _step(self, step: Callable[[], RunOutcome]) -> RunOutcome | None:
        self.run_state = "waiting"
        try:
            with self.ctrl_c:
                return step()
        except KeyboardInterrupt:
            self.view.stop()
            self.pause("Stopped")
            return None
        except NothingToResume as exc:  # finished or undone meanwhile (another terminal, `undo`)
            self.warn(str(exc))
            self.drop_runner("ended")
            return None
        except Exception as exc:  # the runner put the project back before re-raising
            self.view.stop()
            self.warn(f"The run failed: {type(exc).__name__}: {exc}. The project was put back as it was.")
            self.drop_runner("failed")
            return None
        finally:
            self.view.stop()

    def pause(self, what: str) -> None:
        self.run_state = "paused"
        phase = self.actions.state().get("phase", "discovery")
        self.conversation.add("run", run_id=self.run_id, status="paused")
        self.warn(
            f"⏸ {what} during {phase}. The conversation goes on: /continue resumes the run from its last "
            "checkpoint, /undo puts the project back, /status shows where it stands."
        )

    def finished(self, report: RunReport) -> None:
        print_report(self.console, report)
        self.last_report = report
        self.drop_runner(report.status, finished=True)
        if report.status == "passed" and report.changed_files:
            self.say(
                "/diff shows the changes, /undo reverts them, /report shows this checklist again.", "dim"
            )

    def drop_runner(self, status: str, finished: bool = False) -> None:
        if self.runner is not None:
            self.runner.close()
        self.runner = None
        self.run_state = "finished" if finished else "none"
        self.conversation.add("run", run_id=self.run_id, status=status)

    # ----- the agent's questions --------------------------------------------------------------------
    def ask(self, payload: dict[str, Any]) -> str | None:
        """The answer to a question or approval; None when the user stopped, left or undid the run."""
        approval = is_approval(payload)
        self.show_question(payload)
        while True:
            default = payload["default"]
            try:
                line = self.terminal.prompt(
                    f"{'allow' if approval else 'answer'} [{default}] › ", answer=True
                )
            except KeyboardInterrupt:
                self.pause("Stopped at the question")
                return None
            except EOFError:
                self.leaving = True
                return None
            try:
                reply = read_reply(line, payload)
            except CommandError as exc:
                self.warn(str(exc))
                continue
            if isinstance(reply, Answer):
                self.conversation.add("answer", text=reply.text)
                return reply.text
            self.conversation.add("command", line=line.strip())
            self.execute(reply)
            if self.leaving or self.run_state != "waiting":
                return None
            self.say(f"(still waiting: {payload.get('question') or payload.get('title')})", "dim")

    def show_question(self, payload: dict[str, Any]) -> None:
        self.console.print()
        if is_approval(payload):
            title, reason, answers = approval_lines(payload)
            self.say(f"⏵ {title}", "bold magenta")
            self.say(reason, "dim")
            self.actions.show_preview(payload)
            self.say(answers, "dim")
            return
        first, *rest = question_lines(payload)
        self.say(f"? {first}", "bold cyan")
        for line in rest:
            self.say(line, "dim")

    # ----- leaving ----------------------------------------------------------------------------------
    def leave(self) -> None:
        """Leave; a run not finished is put back unless the user says to keep it paused."""
        if self.run_state in ("waiting", "paused") and self.run_id is not None:
            changed = self.actions.changed_so_far()
            try:
                answer = self.terminal.prompt(
                    f"Run {self.run_id} has not finished ({len(changed)} file(s) changed so far). "
                    "Put the project back before leaving? [yes] › ",
                    answer=True,
                )
            except (KeyboardInterrupt, EOFError):
                answer = "yes"
            if answer.strip().lower() in ("n", "no", "keep"):
                self.conversation.add("run", run_id=self.run_id, status="paused")
                self.say(
                    f"Run {self.run_id} stays paused: `django-integrator chat --resume {self.project}` continues "
                    f"it, `django-integrator undo {self.project}` reverts it."
                )
            else:
                self.actions.undo()
        if self.runner is not None:
            self.runner.close()
            self.runner = None
