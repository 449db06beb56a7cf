"""The terminal session: questions answered at the prompt, then diff / undo as follow-ups."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.chat import ChatSession
from agent.cli import main
from agent.config import RunOptions
from agent.console import Console

pytestmark = pytest.mark.live


def scripted(lines: list[str], prompts: list[str]):
    answers: Iterator[str] = iter(lines)

    def read(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    return read


def test_chat_asks_takes_enter_as_default_then_diffs_and_undoes(
    startproject: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = {p: p.read_bytes() for p in startproject.rglob("*") if p.is_file()}
    prompts: list[str] = []
    out = io.StringIO()
    session = ChatSession(
        RunOptions(project=str(startproject), interactive=True, allow_network=False),
        read=scripted(["", "yes", "", "", "diff", "undo"], prompts),  # the 4th: no dedicated queues
        console=Console(stream=out),
    )
    report = session.run()
    assert report.status == "passed"
    assert report.decisions["beat"] is True  # "yes" to the periodic-tasks question
    assert report.decisions["sources"]["beat"] == "asked"
    assert "[polls] > " in prompts[0] and "[no] > " in prompts[1] and "[django-db] > " in prompts[2]

    session.follow_up(report)
    session.runner.close()
    text = out.getvalue()
    assert '+app = Celery("mysite")' in text
    assert "+    'django_celery_beat'," in text  # in the file's own quote style
    assert {p: p.read_bytes() for p in startproject.rglob("*") if p.is_file()} == original


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
