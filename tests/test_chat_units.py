"""The chat's rules, without a terminal: command parsing and completion, what a line typed at a question
means, approvals and permission modes, the offline answer to free text, /status and /plan, the
conversation file, and the SSE stream the scripted server sends."""

from __future__ import annotations

import io
import json
import signal
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from agent.chat.commands import CommandError, CommandLine, completions, parse_command, run_options_for
from agent.chat.conversation import Conversation
from agent.chat.replies import Answer, read_reply
from agent.chat.views import plan_lines, status_lines
from agent.console import Console
from agent.ctrl_c import CtrlCLatch
from agent.executor import execute_calls
from agent.models.offline_chat import CHAT_MARKER, offline_chat_answer
from agent.models.sse import completion_events
from agent.permission_modes import MODES, approval_request, effective_mode, read_approval
from agent.permissions import Permissions
from agent.terminal_questions import ask_at_terminal
from agent.transcript import TranscriptWriter
from tools.context import ToolContext
from tools.files import build_edit, build_write
from tools.journal import Journal

QUESTION = {"question": "Which result backend?", "options": ["django-db", "redis"], "default": "django-db"}
APPROVAL = {"kind": "approval", "title": "Bash command", "scope": "commands", "default": "yes"}


# ----- commands ------------------------------------------------------------------------------------------
def test_a_line_is_a_command_only_when_it_starts_with_a_slash() -> None:
    assert parse_command("integrate celery please") is None
    assert parse_command("  /status ") == CommandLine("/status")
    assert parse_command("/QUIT") == CommandLine("/exit")
    assert parse_command("/celery:setup --beat --backend redis") == CommandLine(
        "/celery:setup", "--beat --backend redis"
    )
    assert parse_command("/celery:add-backend redis") == CommandLine("/celery:add-backend", "redis")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("/stauts", "Unknown command /stauts. Did you mean /status?"),
        ("/frobnicate", "Unknown command /frobnicate. /help lists the commands."),
        ("/diff HEAD", "/diff takes no arguments. Usage: /diff"),
        ("/celery:add-backend", "needs one result backend. Usage: /celery:add-backend django-db|redis|"),
        ("/celery:add-backend mongo", "needs one result backend"),
        ("/celery:setup --bogus", "unrecognized arguments: --bogus. Usage: /celery:setup"),
        ("/model a b", "/model takes one argument"),
    ],
)
def test_a_bad_command_is_an_error_that_says_what_to_type(line: str, message: str) -> None:
    with pytest.raises(CommandError, match=None) as caught:
        parse_command(line)
    assert message in str(caught.value)


def test_setup_arguments_become_the_runs_flags_and_its_arguments() -> None:
    command = CommandLine("/celery:setup", "--beat --apps polls,blog --queues none --backend redis")
    assert run_options_for(command) == {
        "arguments": "--beat --apps polls,blog --queues none --backend redis",
        "apps": ["polls", "blog"],
        "queues": [],
        "beat": True,
        "backend": "redis",
    }
    assert run_options_for(CommandLine("/celery:add-backend", "django-cache")) == {"backend": "django-cache"}
    consents = "--fix-eager --no-fix-url-passwords --env-urls --rename-settings"
    assert run_options_for(CommandLine("/celery:setup", consents)) == {
        "arguments": consents,
        "fix_eager": True,
        "fix_url_passwords": False,
        "env_urls": True,
        "rename_settings": True,
    }


def test_completion_of_commands_and_their_arguments() -> None:
    assert [name for name, _ in completions("/")][:3] == ["/help", "/status", "/plan"]
    assert [name for name, _ in completions("/c")] == ["/celery:setup", "/celery:add-backend", "/continue"]
    assert completions("/celery:add-backend r") == [("redis", "result backend")]
    assert [b for b, _ in completions("/celery:setup --backend ")] == [
        "django-db",
        "redis",
        "django-cache",
        "none",
    ]
    assert [f for f, _ in completions("/celery:setup --beat --b")] == ["--backend", "--broker"]
    assert [f for f, _ in completions("/celery:setup --fix")] == ["--fix-url-passwords", "--fix-eager"]
    assert completions("hello /he") == []


# ----- questions -----------------------------------------------------------------------------------------
def test_slash_commands_typed_at_a_question_are_commands_not_answers() -> None:
    for line in ("/help", "/status", "/exit"):
        assert isinstance(read_reply(line, QUESTION), CommandLine)
        assert isinstance(read_reply(line, APPROVAL), CommandLine)
    with pytest.raises(CommandError):
        read_reply("/stauts", QUESTION)


def test_an_answer_enter_takes_the_default_and_a_number_picks_an_option() -> None:
    assert read_reply("", QUESTION) == Answer("django-db")
    assert read_reply("2", QUESTION) == Answer("redis")
    assert read_reply("3", QUESTION) == Answer("3")  # not an option: the text itself
    assert read_reply("  redis please ", QUESTION) == Answer("redis please")
    assert read_reply("", APPROVAL) == Answer("yes")
    assert read_reply("no, use Edit", APPROVAL) == Answer("no, use Edit")


def test_approval_answers() -> None:
    assert read_approval("").approved and read_approval("Y").approved
    assert read_approval("always").always and read_approval("a").approved
    refused = read_approval("no")
    assert not refused.approved and refused.note == ""
    assert read_approval("no, use Edit instead").note == "use Edit instead"
    assert read_approval("do not touch settings.py") == read_approval("no, do not touch settings.py")
    assert read_approval("do not touch settings.py").note == "do not touch settings.py"


# ----- permission modes ----------------------------------------------------------------------------------
def test_each_mode_asks_for_its_own_tools() -> None:
    tools = ("Read", "Write", "Edit", "SlashCommand", "Bash", "WebFetch")
    assert [t for t in tools if MODES["ask"].asks_for(t)] == ["Write", "Edit", "SlashCommand", "Bash"]
    assert [t for t in tools if MODES["accept-edits"].asks_for(t)] == ["Bash"]
    assert [t for t in tools if MODES["bypass"].asks_for(t)] == []
    assert effective_mode(None, "acceptEdits", "ask") == "accept-edits"
    assert effective_mode("bypass", "acceptEdits", "ask") == "bypass"
    assert effective_mode(None, None, "ask") == "ask"


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    project = tmp_path / "project"
    project.mkdir()
    (project / "settings.py").write_text("DEBUG = True\n")
    return ToolContext(project_root=project, journal=Journal.start(project, "run-1", home=tmp_path / "home"))


def test_approval_requests_follow_the_mode_the_ask_rules_and_always(ctx: ToolContext) -> None:
    permissions = Permissions(["Read", "Write", "Bash(python *)"], ask=["Bash(pip install *)"])
    write = {"name": "Write", "args": {"path": "settings.py", "content": "DEBUG = False\n"}}
    pip = {"name": "Bash", "args": {"command": "pip install celery"}}
    assert approval_request(write, permissions, MODES["bypass"], ctx, set()) is None
    asked = approval_request(write, permissions, MODES["ask"], ctx, set())
    assert asked is not None and asked["scope"] == "writes"
    assert asked["title"] == "Write settings.py (replace, 1 lines)"
    assert "-DEBUG = True\n+DEBUG = False" in asked["preview"]
    assert approval_request(write, permissions, MODES["ask"], ctx, {"writes"}) is None
    rule = approval_request(pip, permissions, MODES["bypass"], ctx, set())  # ask rules ask in every mode
    assert rule is not None and rule["scope"] == "rule Bash(pip install *)"
    assert "ask rule Bash(pip install *)" in rule["reason"] and rule["preview"] == "$ pip install celery"
    refused = {"name": "Bash", "args": {"command": "rm -rf /"}}
    assert approval_request(refused, permissions, MODES["ask"], ctx, set()) is None  # refused, never asked


def test_a_declined_call_never_runs_and_an_approved_ask_rule_call_does(
    ctx: ToolContext, tmp_path: Path
) -> None:
    permissions = Permissions(["Write"], ask=["Edit"])
    edit = {"path": "settings.py", "old_string": "DEBUG = True", "new_string": "DEBUG = False"}
    calls = [
        {"name": "Write", "args": {"path": "settings.py", "content": "X = 1\n"}, "id": "c1"},
        {"name": "Write", "args": {"path": "new.py", "content": "Y = 2\n"}, "id": "c2"},
        {"name": "Edit", "args": {**edit, "path": "new.py", "old_string": "Y = 2"}, "id": "c3"},
        {"name": "Edit", "args": edit, "id": "c4"},
    ]
    outcome = execute_calls(
        calls,
        [],
        {"Write": build_write(ctx), "Edit": build_edit(ctx)},
        permissions,
        ctx,
        {},
        TranscriptWriter(tmp_path / "t.jsonl"),
        "implementation",
        approvals={"c1": "no: keep DEBUG as it is", "c2": "yes", "c4": "yes"},
    )
    declined, written, unasked, approved = outcome.messages
    assert declined.status == "error" and "the user declined this Write call" in str(declined.content)
    assert "The user said: keep DEBUG as it is" in str(declined.content)
    assert written.status == "success" and (ctx.project_root / "new.py").read_text() == "Y = 2\n"
    assert unasked.status == "error" and "needs approval: the ask rule Edit" in str(unasked.content)
    assert approved.status == "success"
    assert (ctx.project_root / "settings.py").read_text() == "DEBUG = False\n"


# ----- free text without a model -------------------------------------------------------------------------
def chat_messages(text: str, facts: dict) -> list:
    system = f"{CHAT_MARKER}, …\n```json chat-facts\n{json.dumps(facts)}\n```"
    return [SystemMessage(content=system), HumanMessage(content=text)]


def test_the_offline_policy_answers_free_text_clearly() -> None:
    answer = offline_chat_answer(chat_messages("please undo all that", {}))
    assert answer.startswith("No language model is configured, so I cannot follow free text")
    assert "/undo puts the project back" in answer and "OPENAI_API_KEY" in answer
    assert "/celery:setup integrates Celery" in offline_chat_answer(chat_messages("integrate celery", {}))
    paused = offline_chat_answer(chat_messages("hmm?", {"run": {"state": "paused"}}))
    assert "A run is paused: /continue picks it up" in paused


# ----- /status and /plan ---------------------------------------------------------------------------------
def test_status_shows_the_phase_decisions_and_the_checklist_so_far() -> None:
    state = {
        "phase": "implementation",
        "decisions": {"result_backend": "redis", "beat": True, "task_apps": ["polls"], "queues": []},
        "gates": {
            "discovery": [{"key": "docs", "passed": True, "evidence": "consulted: first steps\nmore"}],
            "implementation": [
                {"key": "celery_module", "passed": False, "evidence": "mysite/celery.py missing"}
            ],
        },
    }
    lines = status_lines("run-1", "paused", state, ["mysite/settings.py"], width=200)
    assert lines[0] == "run run-1 · paused (/continue picks it up, /undo drops it) · phase 4/5 implementation"
    assert lines[1] == "decisions: backend redis, beat on, apps polls, queues none"
    assert lines[2] == "changed: mysite/settings.py"
    assert "  ✓  1. Django-Celery documentation consulted — consulted: first steps" in lines
    assert "  ✗  2. celery.py with Django settings autodiscovery — mysite/celery.py missing" in lines
    assert "  · 10. worker starts with the Django project — not checked yet (verification gate)" in lines
    assert all(len(line) <= 40 for line in status_lines("run-1", "paused", state, [], width=40))
    todos = [
        {"content": "write celery.py", "status": "completed"},
        {"content": "verify", "status": "pending"},
    ]
    assert plan_lines({"ledger": {"todos": todos}}) == [
        "plan (1/2 done):",
        "  [x] write celery.py",
        "  [ ] verify",
    ]
    assert plan_lines({})[0].startswith("No plan yet")


def test_the_conversation_is_kept_for_resume(tmp_path: Path) -> None:
    first = Conversation.start(tmp_path, tmp_path / "project")
    first.add("user", text="what will you change?")
    first.add("assistant", text="celery.py, settings, tasks")
    first.add("run", run_id="run-1", status="paused")
    resumed = Conversation.latest(tmp_path, tmp_path / "project")
    assert resumed is not None and resumed.path == first.path
    assert resumed.exchanges() == [
        ("user", "what will you change?"),
        ("assistant", "celery.py, settings, tasks"),
    ]
    assert resumed.last_run() is not None and resumed.last_run()["run_id"] == "run-1"
    assert Conversation.latest(tmp_path, tmp_path / "elsewhere") is None


# ----- the scripted server's stream ----------------------------------------------------------------------
def test_a_completion_streams_as_events_that_reassemble_to_it() -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "Read", "arguments": '{"path": "manage.py"}'},
    }
    completion = {
        "id": "chatcmpl-1",
        "created": 1,
        "model": "scripted",
        "choices": [
            {
                "index": 0,
                "message": {"content": "Reading the project now.", "tool_calls": [call]},
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }
    events = [e.decode() for e in completion_events(completion, include_usage=True)]
    assert events[-1] == "data: [DONE]\n\n"
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert len([d for d in deltas if d.get("content")]) > 1  # the text comes in pieces
    assert "".join(d.get("content", "") for d in deltas) == "Reading the project now."
    fragments = [tc["function"].get("arguments", "") for d in deltas for tc in d.get("tool_calls", [])]
    assert "".join(fragments) == '{"path": "manage.py"}'
    assert (
        chunks[-1]["usage"]["total_tokens"] == 15
        and chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    )


# ----- Ctrl-C ---------------------------------------------------------------------------------------------
class LosesTheInterrupt:
    """Where Python cannot raise (here a finaliser; in a run, an at-fork callback of a forking subprocess)."""

    def __del__(self) -> None:
        signal.raise_signal(signal.SIGINT)


def test_a_ctrl_c_python_loses_is_raised_again_at_the_next_event(capsys: pytest.CaptureFixture[str]) -> None:
    latch = CtrlCLatch()
    with latch:
        LosesTheInterrupt()  # the KeyboardInterrupt raised in __del__ is "ignored" by Python
        with pytest.raises(KeyboardInterrupt):
            latch.check()
    assert "Exception ignored" not in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with latch:
        latch.check()  # a new step starts with no press


# ----- `run` at a plain terminal ---------------------------------------------------------------------------
def test_run_asks_for_approval_at_a_plain_terminal() -> None:
    out = io.StringIO()
    payload = {
        "kind": "approval",
        "title": "Bash command",
        "reason": "the definition's ask rule Bash(pip install *) requires your approval",
        "preview": "$ pip install celery",
        "scope": "rule Bash(pip install *)",
        "default": "yes",
    }
    prompts: list[str] = []
    answer = ask_at_terminal(Console(stream=out), payload, read=lambda p: prompts.append(p) or "")
    assert answer == "yes" and prompts == ["    [yes] > "]
    assert "⏵ Allow Bash command?" in out.getvalue() and "$ pip install celery" in out.getvalue()
    assert ask_at_terminal(Console(stream=out), payload, read=lambda p: "no, not now") == "no, not now"
