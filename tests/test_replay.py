"""Every recorded fault transcript replays to its expected outcome through the real ChatOpenAI, offline.

The LLM-style transcripts (`evals/transcripts/llm/`) were recorded from the scripted OpenAI server through
ChatOpenAI and the recording transport (`django-integrator eval record --scenario all`). Replay builds the
case's fixture afresh, serves the recorded responses (429s, 500s and timeouts included) and runs every
tool again, live worker and all.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.evals.commands import main
from agent.evals.replay import replay_transcript
from agent.models.scripted import protocol_problem
from agent.models.wire import recorded_exchanges
from agent.resources import EVALS_DIR
from agent.transcript import read_transcript

LLM_TRANSCRIPTS = sorted((EVALS_DIR / "transcripts" / "llm").glob("*.jsonl"))
OFFLINE_TRANSCRIPT = EVALS_DIR / "transcripts" / "offline" / "startproject.jsonl"
# The faults of the issue, and the transcript that covers each.
FAULTS = {
    "a targeted question and its answer": "targeted-question",
    "malformed tool-call arguments, then corrected": "bad-replies",
    "an unknown tool name": "bad-replies",
    "a tool refused by permissions": "bad-replies",
    "a reply cut off by the token limit": "bad-replies",
    "a gate failure the model repairs": "gate-repair",
    "HTTP 429, then success": "flaky-endpoint",
    "a timeout, then success": "flaky-endpoint",
    "HTTP 500 until retries run out": "server-error",
}

pytestmark = pytest.mark.live


def events(path: Path) -> list[dict]:
    return list(read_transcript(path))


def test_every_fault_has_a_transcript() -> None:
    assert {p.stem for p in LLM_TRANSCRIPTS} >= set(FAULTS.values())


@pytest.mark.parametrize("path", LLM_TRANSCRIPTS, ids=[p.stem for p in LLM_TRANSCRIPTS])
def test_transcript_replays_to_its_expected_outcome(path: Path, tmp_path: Path) -> None:
    result = replay_transcript(path, tmp_path)
    assert result.ok, f"regressions {result.regressions}; unmet {result.unmet}; drift {result.drift}"
    replayed = events(next((tmp_path / "state" / "runs").glob("*/transcript.jsonl")))
    recorded = events(path)
    served = recorded_exchanges(replayed)
    assert len(served) == len(
        recorded_exchanges(recorded) or [e for e in recorded if e["type"] == "model_response"]
    )
    statuses = [e["response"]["status"] if "response" in e else e["error"]["type"] for e in served]
    assert [protocol_problem(e["request"]["json"]) for e in served] == [None] * len(served)
    CHECKS[path.stem](result, replayed, statuses)


def _targeted_question(result, replayed, statuses) -> None:
    beat = next(e for e in replayed if e["type"] == "interrupt" and e["topic"] == "beat")
    answer = next(e for e in replayed if e["type"] == "answer" and e["id"] == beat["id"])
    assert beat["options"] == ["no", "yes"] and answer["answer"] == "no"
    assert result.report["decisions"]["beat"] is False
    assert result.report["decisions"]["sources"]["beat"] == "asked"
    # Later phases see the summaries of earlier ones, not their history: implementation starts afresh.
    requests = [e["request"]["json"]["messages"] for e in recorded_exchanges(replayed)]
    implementation = next(m for m in requests if "## Phase 4/5: implementation" in m[1]["content"])
    assert len(implementation) == 2
    assert "- planning: The plan is written: one step per checklist item." in implementation[1]["content"]


def _bad_replies(result, replayed, statuses) -> None:
    errors = [
        (e["phase"], e["name"], e["content"].split(":")[0].split(" (")[0])
        for e in replayed
        if e["type"] == "tool_result" and e["content"].startswith(("Error", "Refused"))
    ]
    assert [(phase, name) for phase, name, _ in errors] == [
        ("discovery", "Read"),  # arguments not JSON
        ("discovery", "ListDirectory"),  # no such tool
        ("planning", "TodoWrite"),  # cut off by the token limit
        ("implementation", "Bash"),  # rm -rf refused
    ]
    finishes = [
        e["response"]["json"]["choices"][0]["finish_reason"]
        for e in recorded_exchanges(replayed)
        if "response" in e
    ]
    assert finishes.count("length") == 2  # the cut-off tool call, and the cut-off prose in verification
    assert (result.project / "polls" / "migrations" / "0001_initial.py").is_file()  # rm never ran


def _gate_repair(result, replayed, statuses) -> None:
    gates = [e["passed"] for e in replayed if e["type"] == "gate" and e["phase"] == "implementation"]
    assert gates == [False, True]
    assert "delay_on_commit(question.pk)" in (result.project / "polls" / "services.py").read_text()


def _flaky_endpoint(result, replayed, statuses) -> None:
    assert statuses[:2] == [429, 200]
    assert statuses[statuses.index("ReadTimeout") + 1] == 200


def _server_error(result, replayed, statuses) -> None:
    assert statuses[-2:] == [500, 500]  # one attempt and one retry (max_retries=1), then the run stops
    assert result.report["rolled_back"] is True
    assert not (result.project / "mysite" / "celery.py").exists()


CHECKS = {
    "targeted-question": _targeted_question,
    "bad-replies": _bad_replies,
    "gate-repair": _gate_repair,
    "flaky-endpoint": _flaky_endpoint,
    "server-error": _server_error,
}


def test_replay_reports_drift_and_exits_nonzero_on_a_regression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The offline policy's recording, replayed through ChatOpenAI, with its model skipping /celery:setup.

    The analysis gate now fails, so the run does too: a regression. A tampered Glob result is drift.
    (The untampered offline transcript is the drift reference of `eval run`, see test_eval_runner.)
    """
    lines = []
    for event in events(OFFLINE_TRANSCRIPT):
        if event["type"] == "tool_result" and event["name"] == "Glob":
            event |= {"content": "polls/apps_old.py", "sha256": "0" * 64}
        if event["type"] == "model_response":
            for call in event["message"]["tool_calls"]:
                if call["args"].get("command") == "/celery:setup":
                    call["args"]["command"] = "/celery:set-up"
        lines.append(json.dumps(event))
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("\n".join(lines) + "\n")

    code = main(["replay", str(tampered), "--keep", str(tmp_path / "work")])
    out = capsys.readouterr().out
    assert code == 1
    assert "REGRESSION" in out and "regression: status: recorded passed, now failed" in out
    assert (
        "drift: discovery · Glob (result 6): line 1: recorded 'polls/apps_old.py', now 'polls/apps.py'" in out
    )
