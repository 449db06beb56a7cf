"""Drive one run of the graph: start, answer questions, resume after a crash, abort cleanly.

Used by the CLI, the chat REPL, the supervisor adapters and the eval runner, so they all share the same
run lifecycle: the SQLite checkpointer (a run can be continued after a crash), the transcript header, and
the rule that an interrupted run puts the project back as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command, StateSnapshot

from agent.config import RunOptions
from agent.graph import build_graph, initial_state
from agent.report import RunReport
from agent.run_lock import RunLock
from agent.session import build_context, run_dir, write_header
from agent.state import ProgressCallback
from tools.django_celery.project_session import project_sessions
from tools.journal import Journal, new_run_id, state_home
from tools.scratch import sweep_stale_scratch

RECURSION_LIMIT = 1_000


def saved_state(run_id: str, home: Path | None = None) -> dict[str, Any]:
    """A run's state at its last checkpoint ({} when it has none), read without taking the project's lock.

    Inside a phase (a subgraph) the phase's own checkpoint is newer than the parent's: its values win.
    """
    with closing(sqlite3.connect((home or state_home()) / "checkpoints.sqlite")) as connection:
        graph = build_graph(checkpointer=SqliteSaver(connection))
        snapshot = graph.get_state({"configurable": {"thread_id": run_id}}, subgraphs=True)
        inner = [task.state.values for task in snapshot.tasks if isinstance(task.state, StateSnapshot)]
        return {**snapshot.values, **(inner[0] if inner else {}), "next": list(snapshot.next)}


class NothingToResume(ValueError):
    """The run finished, was undone, or never reached its first checkpoint; the message says what to do."""


def roll_back_unfinished(run_id: str, home: Path) -> list[str]:
    """Restore the files of a run that is still open (it crashed or was cancelled); a finished or undone
    run is left alone. Returns the restored paths."""
    journal_dir = run_dir(run_id, home)
    if not (journal_dir / "journal.json").exists():
        return []
    journal = Journal.load(journal_dir)
    if journal.index.status != "open":
        return []
    return journal.rollback()


@dataclass
class RunOutcome:
    run_id: str
    report: RunReport | None = None
    question: dict[str, Any] | None = None  # set while the run waits for an answer


class Runner:
    def __init__(
        self,
        options: RunOptions,
        progress: ProgressCallback | None = None,
        model: BaseChatModel | None = None,
        model_label: str | None = None,
        run_id: str | None = None,
        home: Path | None = None,
        on_text: Callable[[str], None] | None = None,
        pause_on_interrupt: bool = False,
    ) -> None:
        """`on_text` gets the model's text as it arrives (the model is then streamed); `pause_on_interrupt`:
        Ctrl-C leaves the run at its last checkpoint, to be continued with `resume()` or undone with
        `abort()`, instead of undoing it at once (the chat's choice).

        The graph itself is always invoked, never streamed: LangGraph runs a streamed graph's nodes in a
        worker thread, where Ctrl-C cannot stop a tool half-way and a "stopped" run would go on writing."""
        self.options = options
        self.pause_on_interrupt = pause_on_interrupt
        self.home = home or state_home()
        self.run_id = run_id or new_run_id()
        self.context = build_context(options, self.run_id, progress, model, model_label, self.home)
        self.context.on_text = on_text
        self.home.mkdir(parents=True, exist_ok=True)
        self._lock = RunLock.acquire(self.home, Path(options.project), self.run_id)  # ProjectLocked: refused
        sweep_stale_scratch()  # temp folders of runs that were killed
        self._connection = sqlite3.connect(self.home / "checkpoints.sqlite", check_same_thread=False)
        # A checkpoint must survive the run's process being killed (resume), not the machine losing power:
        # WAL with synchronous=NORMAL keeps every commit across a crash of the process without an fsync
        # per checkpoint (a run writes a few hundred).
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self.graph = build_graph(checkpointer=SqliteSaver(self._connection))
        self.config = {"configurable": {"thread_id": self.run_id}, "recursion_limit": RECURSION_LIMIT}

    def start(self) -> RunOutcome:
        write_header(self.context, self.run_id, self.options)
        return self._drive(initial_state(self.run_id, self.options))

    def answer(self, value: str) -> RunOutcome:
        return self._drive(Command(resume=value))

    def resume(self) -> RunOutcome:
        """Continue a run from its last checkpoint (after a crash or a closed terminal)."""
        snapshot = self.graph.get_state(self.config)
        # A node that finished just before the crash has its writes saved but no next checkpoint yet: `next`
        # is empty while its task is still listed, and invoking continues from those writes.
        if not snapshot.next and not snapshot.tasks:
            raise NothingToResume(
                f"Run {self.run_id} has nothing left to do (or was never started); start a new run instead."
            )
        journal_dir = run_dir(self.run_id, self.home)
        if (journal_dir / "journal.json").exists() and Journal.load(
            journal_dir
        ).index.status == "rolled_back":
            raise NothingToResume(f"Run {self.run_id} was undone; start a new run instead of resuming it.")
        return self._drive(None)

    def abort(self) -> list[str]:
        """Put the project back as it was before this run (Ctrl-C, a supervisor cancelling)."""
        return roll_back_unfinished(self.run_id, self.home)

    def close(self) -> None:
        self._connection.close()
        self._lock.release()

    def _drive(self, payload: Any) -> RunOutcome:
        try:
            with project_sessions():
                result = self.graph.invoke(payload, self.config, context=self.context)
        except KeyboardInterrupt:
            if not self.pause_on_interrupt:
                self.abort()
            raise
        except BaseException:
            self.abort()
            raise
        interrupts = result.get("__interrupt__")
        if interrupts:
            return RunOutcome(self.run_id, question=interrupts[0].value)
        return RunOutcome(self.run_id, report=RunReport.model_validate(result["report"]))
