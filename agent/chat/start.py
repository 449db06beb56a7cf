"""Opening a chat: the banner, and with `--resume` the last conversation held on the project.

Resuming shows the end of that conversation, gives the model its earlier exchanges back, and picks up its
run: a run left paused (or stopped by a closed terminal) can be continued with `/continue`; a finished
one is what `/report`, `/status` and `/plan` show.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console as RichConsole

from agent.chat.conversation import Conversation
from agent.chat.session import ChatSession
from agent.chat.terminal import PromptTerminal
from agent.config import RunOptions
from agent.definition import DefinitionError
from agent.report import RunReport
from agent.runner import saved_state
from agent.session import run_dir
from tools.journal import Journal, state_home

UNFINISHED = ("started", "paused")


def chat(options: RunOptions, resume: bool = False) -> int:
    home = state_home()
    console = RichConsole(highlight=False)
    conversation = Conversation.latest(home, options.project) if resume else None
    if resume and conversation is None:
        console.print("No earlier conversation on this project: starting a new one.", style="yellow")
    try:
        session = ChatSession(
            options, PromptTerminal(home / "chat_history"), console, home=home, conversation=conversation
        )
    except (DefinitionError, ValueError) as exc:  # a broken definition, --agent naming no agent
        print(f"django-integrator: {exc}", file=sys.stderr)
        return 2
    banner(session)
    if conversation is not None:
        pick_up(session, conversation)
    return session.loop()


def banner(session: ChatSession) -> None:
    session.say(f"django-integrator chat · {session.project}", "bold")
    model = "scripted model" if session.model is not None else session.actions.model_label()
    session.say(
        f"model: {model} · agent: {session.definition.name} · permissions: {session.options.permission_mode}",
        "dim",
    )
    session.say(
        "/celery:setup integrates Celery (try /celery:setup --beat); ask anything in plain words. "
        "/help lists the commands · Tab completes · Ctrl-C stops a step · Ctrl-D leaves.",
        "dim",
    )


def pick_up(session: ChatSession, conversation: Conversation) -> None:
    session.say(f"Resumed the conversation of {conversation.path.stem[:15]}:", "bold")
    for who, text in conversation.recap():
        session.say(f"  {who} {text[:160]}", "dim")
    last = conversation.last_run()
    if last is None or last.get("run_id") is None:
        return
    run_id = last["run_id"]
    folder = run_dir(run_id, session.home)
    if not (folder / "journal.json").exists():
        return
    session.run_id = run_id
    if last["status"] in UNFINISHED and Journal.load(folder).index.status == "open":
        state = saved_state(run_id, session.home)
        if state.get("next"):
            session.run_state = "paused"
            session.warn(
                f"Run {run_id} is paused in {state.get('phase', 'discovery')}: /continue picks it up, "
                "/undo puts the project back."
            )
            return
    report = _report_of(folder / "transcript.jsonl")
    if report is not None:
        session.run_state, session.last_report = "finished", report
        session.say(f"Its last run, {run_id}, {report.status}: /report shows it.", "dim")
    else:
        session.run_id = None


def _report_of(transcript: Path) -> RunReport | None:
    if not transcript.exists():
        return None
    events = [
        json.loads(line) for line in transcript.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    found = next((e["report"] for e in reversed(events) if e.get("type") == "report"), None)
    return RunReport.model_validate(found) if found is not None else None
