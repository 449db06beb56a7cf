"""The verified no-op: `run` on the byte-identical result of a passing run does nothing, and proves it.

It takes the fast path — no graph, neither LangGraph nor langchain-core imported (checked in the run's own
process), no model called whichever is configured — checks discovery, items 2–9 and the hygiene rules
again, reuses items 1, 10, 11 and item 7's live part saying from which run, leaves every byte and mode of
the project as it was and is listed by `runs`. One changed byte, or `--reverify`, is a full run with a
worker; an interactive run takes the fast path only when it has nothing to ask.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.audit import manifest
from agent.cli import main
from agent.config import RunOptions
from agent.noop_run import verified_noop
from tools.django_celery.project_session import project_sessions

pytestmark = pytest.mark.live

MODULES = "modules of the run's process: "
# `run` in a process of its own, which then says which of the runtime's heavy packages it imported
ALONE = (
    "import json, sys\n"
    "from agent.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'langgraph', 'langchain_core', 'langsmith'})\n"
    f"print({MODULES!r} + json.dumps(heavy), file=sys.stderr)\n"
    "sys.exit(code)\n"
)
RUN = ["run", "--yes", "--json", "--no-network"]


def run_alone(args: list[str], env: dict[str, str] | None = None) -> tuple[int, dict, list[str]]:
    """Exit code, JSON report and the heavy packages imported, of `run` in a process of its own."""
    done = subprocess.run(
        [sys.executable, "-c", ALONE, *RUN, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )
    said = [line for line in done.stderr.splitlines() if line.startswith(MODULES)]
    assert said, done.stderr[-2000:]
    return done.returncode, json.loads(done.stdout), json.loads(said[-1].removeprefix(MODULES))


def evidence(report: dict) -> dict[int, str]:
    return {check["number"]: check["evidence"] for check in report["checklist"]}


def test_a_run_on_a_verified_result_takes_the_fast_path_and_anything_else_runs_in_full(
    startproject: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*RUN, str(startproject)]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["status"] == "passed" and first["reused_from"] is None
    verified = manifest(startproject)  # every file's content and mode

    code, noop, heavy = run_alone([str(startproject)])
    assert code == 0 and noop["status"] == "passed", noop.get("error")
    assert heavy == []  # the graph was never built: LangGraph and LangChain not even imported
    assert noop["reused_from"] == first["run_id"] and noop["changed_files"] == []
    assert manifest(startproject) == verified
    assert noop["usage"]["model_calls"] == 0 and noop["model"].endswith(", not called")
    said = evidence(noop)
    reused = f"reused from run {first['run_id']} at "
    assert [said[n].startswith(reused) for n in (1, 10, 11)] == [True] * 3
    assert "became ready as djint-" in said[10]  # the first run's worker, named as such
    assert not any(said[n].startswith(reused) for n in (2, 3, 4, 5, 6, 8, 9))  # checked again, now
    assert said[7].startswith("checked now: ") and reused in said[7]
    assert said[8].startswith("django_celery_results: all ")
    assert main(["runs", str(startproject)]) == 0
    assert f"{noop['run_id']}  finished     changed 0 file(s)" in capsys.readouterr().out

    # A configured model is not called either (the project is in the state a run would bring it to).
    key = {"OPENAI_API_KEY": "sk-noop-test-key-not-used-anywhere-0000"}
    code, with_model, heavy = run_alone([str(startproject), "--model", "gpt-4o-mini"], env=key)
    assert code == 0 and heavy == [] and with_model["reused_from"] == first["run_id"]
    assert with_model["model"] == "gpt-4o-mini via api.openai.com, not called"
    # An interactive run would ask about beat and queues (no flag or existing setup settles them).
    options = RunOptions(project=str(startproject.resolve()), allow_network=False, interactive=True)
    with project_sessions():
        assert verified_noop(options) is None
        assert verified_noop(options.model_copy(update={"interactive": False})) is not None
    assert manifest(startproject) == verified

    tasks = startproject / "polls" / "tasks.py"
    tasks.write_bytes(tasks.read_bytes() + b"\n")  # one byte more: the full run, and a worker
    code, changed, heavy = run_alone([str(startproject)])
    assert code == 0 and changed["status"] == "passed", changed.get("error")
    assert "langgraph" in heavy and changed["reused_from"] is None
    assert "became ready as djint-" in evidence(changed)[10]
    assert not any(said.startswith(("reused", "verified live")) for said in evidence(changed).values())

    code, reverified, heavy = run_alone([str(startproject), "--reverify"])
    assert code == 0 and reverified["status"] == "passed", reverified.get("error")
    assert "langgraph" in heavy and reverified["reused_from"] is None
    assert not any(said.startswith(("reused", "verified live")) for said in evidence(reverified).values())


def test_an_interactive_run_takes_the_fast_path_when_flags_settle_every_question(
    startproject: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--no-beat", "--queues", "none"]
    assert main([*RUN, *flags, str(startproject)]) == 0
    first = json.loads(capsys.readouterr().out)
    verified = manifest(startproject)
    options = RunOptions(
        project=str(startproject.resolve()),
        allow_network=False,
        interactive=True,
        beat=False,
        queues=["none"],
    )
    with project_sessions():
        report = verified_noop(options)
    assert report is not None and report.reused_from == first["run_id"]
    assert report.status == "passed" and report.passed_count == 11
    assert manifest(startproject) == verified
