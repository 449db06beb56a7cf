"""The whole agent, end to end: CLI → five phases with gates → a live worker, on real startproject projects.

These are the issue's acceptance checks: 11/11 with no API key and no server, a second run changes no
file, the diff touches only the expected files, undo and failed runs leave the project byte-identical.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.cli import main
from agent.config import RunOptions
from agent.runner import Runner, RunOutcome
from agent.transcript import read_transcript
from tests.tool_support import CHANGED_BY_A_RUN

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "django-integrator.md"

pytestmark = pytest.mark.live


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code, report, _ = run_cli_with_progress(args, capsys)
    return code, report


def run_cli_with_progress(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict, str]:
    """Exit code, JSON report and the progress lines (stderr with --json)."""
    code = main(["run", "--yes", "--json", "--no-network", *args])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out.strip() else {}, captured.err


def answer_interactively(project: Path, answer: Callable[[dict], str]) -> tuple[RunOutcome, list[str]]:
    """An interactive run of `project`, each targeted question answered by `answer`; the topics asked."""
    runner = Runner(RunOptions(project=str(project), interactive=True, allow_network=False))
    outcome, asked = runner.start(), []
    while outcome.question is not None:
        asked.append(outcome.question["topic"])
        outcome = runner.answer(answer(outcome.question))
    runner.close()
    return outcome, asked


def error_results(transcript: str) -> list[dict]:
    return [
        e
        for e in read_transcript(Path(transcript))
        if e["type"] == "tool_result" and str(e.get("content", "")).startswith(("Error", "Refused"))
    ]


def test_run_passes_all_eleven_and_second_run_changes_nothing(
    startproject: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(startproject)
    code, report = run_cli([str(startproject)], capsys)
    assert code == 0, report.get("error")
    assert [c["passed"] for c in report["checklist"]] == [True] * 11
    changed = {p for p, data in snapshot(startproject).items() if before.get(p) != data}
    assert changed == CHANGED_BY_A_RUN
    assert set(report["changed_files"]) == CHANGED_BY_A_RUN
    assert error_results(report["transcript"]) == []

    after_first = snapshot(startproject)
    # A second run through the graph (as `eval run` and `chat` make it; the CLI's no-op fast path is
    # tests/test_noop_run.py): every phase runs again and changes nothing, and the tree being
    # byte-identical to what the first run verified live, no worker starts: the evidence says whose it is.
    progress: list[dict] = []
    runner = Runner(
        RunOptions(project=str(startproject.resolve()), allow_network=False),
        progress=lambda event, data: progress.append(data) if event == "live" else None,
    )
    outcome = runner.start()
    runner.close()
    assert outcome.report is not None and outcome.report.status == "passed", outcome.report
    assert progress == [{"reused_from": report["run_id"]}]
    second = outcome.report.model_dump(mode="json")
    assert second["changed_files"] == []
    assert snapshot(startproject) == after_first
    reused = f"verified live by run {report['run_id']} at "
    assert [c["evidence"].startswith(reused) for c in live_items(second)] == [True] * 3
    assert "became ready as djint-" in live_items(second)[1]["evidence"]  # the first run's own evidence

    tasks = startproject / "polls" / "tasks.py"
    tasks.write_bytes(tasks.read_bytes() + b"\n")  # one byte more: the worker must run again
    code, third, progress = run_cli_with_progress([str(startproject)], capsys)
    assert code == 0, third.get("error")
    assert "starting a Celery worker" in progress
    assert not any(c["evidence"].startswith("verified live") for c in live_items(third))
    assert "became ready as djint-" in live_items(third)[1]["evidence"]
    code, fourth = run_cli([str(startproject), "--reverify"], capsys)
    assert code == 0, fourth.get("error")
    assert not any(c["evidence"].startswith("verified live") for c in live_items(fourth))


def live_items(report: dict) -> list[dict]:
    """Items 7, 10 and 11 of the report's checklist (the ones a live worker proves)."""
    return [c for c in report["checklist"] if c["number"] in (7, 10, 11)]


def test_seed_definition_loaded_unchanged_drives_a_passing_run(
    startproject: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not SEED.is_file():
        pytest.skip("../shared/seed is not beside this clone")
    code, report = run_cli([str(startproject), "--definition", str(SEED)], capsys)
    assert code == 0, report.get("error")
    assert all(c["passed"] for c in report["checklist"])
    events = list(read_transcript(Path(report["transcript"])))
    calls = [(e["name"], e["args"]) for e in events if e["type"] == "tool_call"]
    # The seed's directives, executed: its skill, both slash commands, its discovery documentation.
    assert ("Skill", {"skill": "celery:framework-integrations"}) in calls
    assert ("SlashCommand", {"command": "/celery:setup"}) in calls
    assert ("SlashCommand", {"command": "/celery:add-backend django-db"}) in calls
    fetched = {args["url"] for name, args in calls if name == "WebFetch"}
    assert "https://docs.celeryq.dev/en/stable/django/first-steps-with-django.html" in fetched
    # Edit is not in the seed's allowed-tools, so the model never even sees it.
    header = events[0]
    assert header["type"] == "header" and header["definition"] == str(SEED)


def test_undo_restores_the_project_byte_for_byte(
    startproject: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(startproject)
    code, _ = run_cli([str(startproject)], capsys)
    assert code == 0
    assert main(["undo", str(startproject)]) == 0
    assert snapshot(startproject) == before


@pytest.mark.services
def test_a_run_that_fails_its_gate_leaves_the_project_untouched(
    startproject: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """RabbitMQ answers (so preflight lets the run start), but the vhost does not exist: the worker
    never becomes ready, the verification gate fails after the files were written, and they are undone."""
    before = snapshot(startproject)
    broker = "amqp://guest:guest@127.0.0.1:5672/djint-no-such-vhost"
    code, report = run_cli([str(startproject), "--broker", broker, "--max-tries", "1"], capsys)
    assert code == 1
    assert report["status"] == "failed"
    failed = {c["key"]: c["evidence"] for c in report["checklist"] if not c["passed"]}
    assert "worker_starts" in failed and "djint-no-such-vhost" in failed["worker_starts"]
    assert report["rolled_back"] is True
    assert snapshot(startproject) == before


def test_an_unreachable_broker_is_refused_before_any_write(
    startproject: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(startproject)
    code = main(["run", "--yes", "--no-network", str(startproject), "--broker", "redis://127.0.0.1:6390/0"])
    assert code == 2
    assert "127.0.0.1:6390" in capsys.readouterr().out
    assert snapshot(startproject) == before


def test_interrupted_run_is_put_back(startproject: Path) -> None:
    """Ctrl-C in the middle of implementation: the project is restored before the exception propagates."""
    before = snapshot(startproject)

    def interrupt_at_implementation_gate(event: str, data: dict) -> None:
        if event == "gate_start" and data["phase"] == "implementation":
            raise KeyboardInterrupt

    runner = Runner(
        RunOptions(project=str(startproject), allow_network=False), progress=interrupt_at_implementation_gate
    )
    with pytest.raises(KeyboardInterrupt):
        runner.start()
    runner.close()
    assert snapshot(startproject) == before


def test_interactive_answers_drive_the_decisions(startproject: Path) -> None:
    answers = {
        "task_apps": "polls",
        "beat": "no",
        "result_backend": "no results, ignore them",
        "queues": "no",
    }
    outcome, asked = answer_interactively(startproject, lambda question: answers[question["topic"]])
    assert asked == ["task_apps", "beat", "result_backend", "queues"]
    assert outcome.report is not None and outcome.report.status == "passed"
    assert outcome.report.decisions["result_backend"] == "none"
    assert outcome.report.decisions["sources"]["result_backend"] == "asked"
    assert "django_celery_results" not in (startproject / "mysite" / "settings.py").read_text()


def test_an_interactive_run_asks_before_reading_a_literal_broker_url_from_the_environment(
    startproject: Path,
) -> None:
    """Discovery finds the user's literal URL, so analysis asks; a yes rewrites it (the value kept as the
    default) and every gate passes."""
    settings = startproject / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + 'CELERY_BROKER_URL = "redis://localhost:6379/0"\n')
    answers = {
        "task_apps": "polls",
        "beat": "no",
        "result_backend": "django-db",
        "queues": "no",
        "env_urls": "yes",
    }
    outcome, asked = answer_interactively(startproject, lambda question: answers[question["topic"]])
    assert asked == ["task_apps", "beat", "result_backend", "queues", "env_urls"]
    assert outcome.report is not None and outcome.report.status == "passed", outcome.report
    assert outcome.report.decisions["sources"]["env_urls"] == "asked"
    assert 'os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0")' in settings.read_text()


@pytest.mark.parametrize("consent", ["yes", "no"])
def test_an_interactive_run_asks_before_removing_a_url_password_and_turning_eager_mode_off(
    startproject: Path, consent: str
) -> None:
    """Discovery finds a password in the broker URL's default and eager mode on in the settings the project
    runs with, so analysis asks about each (only then: a project without them gets neither question).
    A yes removes the password and turns eager mode off; a no leaves the code as it was and the report's
    production hygiene names both with file:line; the run passes either way."""
    settings = startproject / "mysite" / "settings.py"
    settings.write_text(
        "import os\n"
        + settings.read_text()
        + 'CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://:s3cret@localhost:6379/0")\n'
        + "CELERY_TASK_ALWAYS_EAGER = True\n"
    )
    answers = {
        "task_apps": "polls",
        "beat": "no",
        "result_backend": "django-db",
        "queues": "no",
        "url_passwords": consent,
        "eager_mode": consent,
    }

    def answer(question: dict) -> str:
        assert question["default"] == "no" or question["topic"] not in ("url_passwords", "eager_mode")
        return answers[question["topic"]]

    outcome, asked = answer_interactively(startproject, answer)
    report = outcome.report
    assert asked == ["task_apps", "beat", "result_backend", "queues", "url_passwords", "eager_mode"]
    assert report is not None and report.status == "passed", report
    assert (
        report.decisions["sources"]["url_passwords"] == report.decisions["sources"]["eager_mode"] == "asked"
    )
    assert report.decisions["fix_url_passwords"] is report.decisions["fix_eager"] is (consent == "yes")
    text = settings.read_text()
    hygiene = next(
        c for checks in report.phase_checks.values() for c in checks if c.key == "hygiene"
    ).evidence
    if consent == "yes":
        assert 'os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0")' in text
        assert "s3cret" not in text
        assert "CELERY_TASK_ALWAYS_EAGER = False" in text and "CELERY_TASK_ALWAYS_EAGER = True" not in text
        assert "✓ no broker/backend password in code" in hygiene
        assert "✓ task_always_eager off outside tests" in hygiene
    else:
        assert 'os.environ.get("CELERY_BROKER_URL", "redis://:s3cret@localhost:6379/0")\n' in text
        assert "\nCELERY_TASK_ALWAYS_EAGER = True\n" in text
        eager_line = text.splitlines().index("CELERY_TASK_ALWAYS_EAGER = True") + 1
        assert "✗ (reported, not changed) no broker/backend password in code: mysite/settings.py:" in hygiene
        assert f"mysite/settings.py:{eager_line}: CELERY_TASK_ALWAYS_EAGER = True in settings" in hygiene


def test_a_project_without_url_passwords_or_eager_mode_is_not_asked_about_them(startproject: Path) -> None:
    settings = startproject / "mysite" / "settings.py"
    settings.write_text(
        "import os\n"
        + settings.read_text()
        + 'CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0")\n'
        + 'CELERY_TASK_ALWAYS_EAGER = os.environ.get("EAGER") == "1"\n'
    )
    outcome, asked = answer_interactively(startproject, lambda question: question["default"])
    assert asked == ["task_apps", "beat", "result_backend", "queues"]
    assert outcome.report is not None and outcome.report.status == "passed", outcome.report


def test_not_a_django_project_is_a_clear_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "README.md").write_text("not django\n")
    code = main(["run", "--yes", str(tmp_path)])
    output = capsys.readouterr()
    assert code == 2
    assert "manage.py" in output.out + output.err
