"""The chat with a model: free text streamed through the real ChatOpenAI (the scripted OpenAI server sends
SSE), the model starting the integration for the user, approvals in `ask` mode (one declined with a note),
commands at questions, then /diff and /undo — typed through prompt_toolkit's real input handling."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import BaseMessage, HumanMessage
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console as RichConsole

from agent.chat.session import ChatSession
from agent.chat.terminal import PromptTerminal
from agent.cli import main
from agent.config import ModelSettings, RunOptions
from agent.definition import load_definition
from agent.evals.recording import SCRIPTED_URL
from agent.models.openai import make_chat_openai
from agent.models.scripted import Completion, ScriptedServer, ScriptedTransport
from agent.plugins import definition_file
from agent.transcript import read_transcript

pytestmark = pytest.mark.live


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


class Screen:
    """The terminal's output as the writes that reached it (a streamed reply is many writes)."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    @property
    def text(self) -> str:
        return "".join(self.writes)


class WireLog(httpx.BaseTransport):
    """The request bodies the client sent, then the scripted server's answer."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.bodies: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.read()))
        return self.inner.handle_request(request)


def chat_reply(messages: list[BaseMessage]):
    said = next(str(m.content) for m in reversed(messages) if isinstance(m, HumanMessage))
    if "periodic" in said:
        call = json.dumps({"command": "/celery:setup --beat"})
        return Completion(
            "I will start the integration with periodic tasks for you.", [("run_chat_command", call)]
        )
    return None  # the default: the offline policy's answer, sent as the model's text


def test_chat_with_a_model_streams_runs_asks_for_approval_diffs_and_undoes(
    startproject: Path, tmp_path: Path
) -> None:
    before = snapshot(startproject)
    options = RunOptions(project=str(startproject), interactive=True, allow_network=False)
    server = ScriptedServer(load_definition(definition_file(options)), chat_hook=chat_reply)
    wire = WireLog(ScriptedTransport(server))
    model = make_chat_openai("scripted", ModelSettings(base_url=SCRIPTED_URL, api_key="sk-test"), wire)
    screen = Screen()
    typed = [
        "set it up with periodic tasks",  # free text: the model runs /celery:setup --beat for the user
        "/plan",  # at the first question (apps): a command, not the answer
        "",  # apps: polls
        "",  # result backend: django-db
        "",  # queues: none
        "",  # allow /celery:setup --beat
        "always",  # allow /celery:add-backend, and every later write
        "no, skip the check",  # the first Bash command is declined, with a note
        "",  # allow the second
        "what changed?",
        "/diff",
        "/undo",
        "/exit",
    ]
    with create_pipe_input() as pipe:
        pipe.send_text("".join(f"{line}\r" for line in typed))
        terminal = PromptTerminal(tmp_path / "history", input=pipe, output=DummyOutput())
        console = RichConsole(file=screen, width=120, highlight=False)  # type: ignore[arg-type]
        session = ChatSession(options, terminal, console, model=model)
        assert session.loop() == 0

    out = screen.text
    assert "endpoint failed" not in out
    streamed = [
        w for w in screen.writes if w and w in "I will start the integration with periodic tasks for you."
    ]
    assert len(streamed) > 1  # the model's text reached the screen piece by piece
    assert all(body.get("stream") for body in wire.bodies)
    assert "● /celery:setup --beat (run for you; Ctrl-C stops it)" in out
    assert "No plan yet: the agent writes it in phase 3/5, planning." in out
    assert "⏵ Allow SlashCommand /celery:setup --beat?" in out and "⏵ Allow Bash command?" in out
    assert "11/11 checklist items passed" in out
    report = session.last_report
    assert report is not None and report.decisions["sources"]["beat"] == "flag"

    events = list(read_transcript(Path(report.transcript)))
    declined = [
        e for e in events if e["type"] == "tool_result" and e["content"].startswith("Not run: the user")
    ]
    assert [e["content"].split(" Do not")[0] for e in declined] == [
        "Not run: the user declined this Bash call. The user said: skip the check"
    ]
    approvals = [e for e in events if e["type"] == "interrupt" and e.get("kind") == "approval"]
    assert [a["tool"] for a in approvals] == ["SlashCommand", "SlashCommand", "Bash", "Bash"]
    result = session.free_text.messages[-3]  # the command's outcome went back to the model
    assert (
        str(result.content) == f"Ran /celery:setup --beat: run {report.run_id} passed, 11/11 checklist items."
    )
    assert "/diff shows what the run changed" in out  # the model's answer to "what changed?"

    assert "+++ b/mysite/celery.py" in out and f"Changes of run {report.run_id}, 10 file(s):" in out
    assert f"Undid run {report.run_id}: restored 10 file(s)" in out
    assert snapshot(startproject) == before


def test_diff_command_shows_the_last_runs_changes(
    startproject: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--yes", "--no-network", "--json", str(startproject)]) == 0
    capsys.readouterr()
    assert main(["diff", str(startproject)]) == 0
    diff = capsys.readouterr().out
    assert "--- /dev/null\n+++ b/mysite/celery.py" in diff
    assert "+from .celery import app as celery_app" in diff
    assert "Binary file db.sqlite3 changed" in diff
