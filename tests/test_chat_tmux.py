"""`django-integrator chat` in a real terminal (tmux): a whole integration of a startproject project,
questions answered at the prompt, approvals, Ctrl-C and /continue, /diff, and /undo that restores the
project byte for byte; then a conversation stopped at a question, left paused and continued with --resume.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tmux_support import Pane

pytestmark = pytest.mark.live
CLI = Path(sys.executable).with_name("django-integrator")


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def open_chat(tmp_path: Path) -> Iterator:
    panes: list[Pane] = []
    env = {"DJANGO_INTEGRATOR_HOME": os.environ["DJANGO_INTEGRATOR_HOME"], "PATH": os.environ["PATH"]}

    def start(*args: str) -> Pane:
        pane = Pane([str(CLI), "chat", *args, "--model", "offline", "--no-network"], tmp_path, env)
        panes.append(pane)
        pane.wait_for("django-integrator chat ·")
        return pane

    yield start
    for pane in panes:
        pane.close()


def test_a_whole_integration_in_the_terminal_then_diff_and_undo(startproject: Path, open_chat) -> None:
    before = snapshot(startproject)
    chat = open_chat(str(startproject))
    chat.wait_for("permissions: ask")

    chat.type("/celery:setup")
    chat.wait_for("? Which of your Django apps should get Celery tasks?")
    chat.type("/status")  # a command at a question runs, and the question is asked again
    chat.wait_for("(still waiting: Which of your Django apps should get Celery tasks?)")
    assert "· waiting for your answer · phase 1/5 discovery" in chat.text()
    chat.type("")  # Enter: the recommended answer (polls)
    chat.wait_for("? Will you run periodic jobs")
    chat.type("")
    chat.wait_for("? Should results live in the Django database")
    chat.type("")
    chat.wait_for("? Should tasks go to dedicated queues")
    chat.type("")
    chat.wait_for("⏵ Allow SlashCommand /celery:setup?")
    screen = chat.wait_for("allow [yes] ›")
    assert "new     mysite/celery.py" in screen and "changed mysite/settings.py" in screen
    chat.type("always")  # every later write of this run (/celery:add-backend) goes without asking
    chat.wait_for("⏵ Allow Bash command?")
    chat.wait_for("allow [yes] ›", count=2)
    chat.type("always")
    chat.wait_for("starting a Celery worker to verify", timeout=60)
    chat.key("C-c")  # stops the step; the conversation goes on
    chat.wait_for("⏸ Stopped during verification.")
    chat.type("/continue")
    screen = chat.wait_for("11/11 checklist items passed", timeout=90)
    assert "Allow SlashCommand /celery:add-backend" not in screen
    assert snapshot(startproject) != before

    chat.type("/diff")
    screen = chat.wait_for("Binary file db.sqlite3 changed")  # the diff's last file
    assert "Changes of run " in screen and "+++ b/mysite/celery.py" in screen
    assert "+from .celery import app as celery_app" in screen
    chat.type("/undo")
    chat.wait_for("Undid run ")
    assert snapshot(startproject) == before
    chat.type("/undo")
    chat.wait_for("Nothing to undo: no run of this project has changes still in place.")
    chat.type("/exit")
    assert chat.exit_status() == 0


def test_stopped_at_a_question_left_paused_then_resumed(startproject: Path, open_chat) -> None:
    before = snapshot(startproject)
    chat = open_chat(str(startproject))
    chat.type("what would you change?")
    chat.wait_for("No language model is configured, so I cannot follow free text")
    chat.type("/celery:setup --beat")
    chat.wait_for("? Which of your Django apps should get Celery tasks?")
    chat.key("C-c")
    chat.wait_for("⏸ Stopped at the question during discovery.")
    chat.type("/exit")
    chat.wait_for("Put the project back before leaving? [yes]")
    chat.type("no")
    chat.wait_for("stays paused: `django-integrator chat --resume")
    assert chat.exit_status() == 0

    again = open_chat(str(startproject), "--resume")
    screen = again.wait_for("/continue picks it up")
    assert "Resumed the conversation of" in screen and "› what would you change?" in screen
    assert "is paused in discovery" in screen
    again.type("/continue")
    again.wait_for("? Which of your Django apps should get Celery tasks?")
    again.type("/undo")  # at a question: stops the run and puts the project back
    again.wait_for("and put the project back")
    again.type("/status")
    again.wait_for("undone (the project is as it was before it)")
    again.key("C-d")
    assert again.exit_status() == 0
    assert snapshot(startproject) == before
