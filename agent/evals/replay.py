"""Replay a transcript: the recorded model replies, fed back through the real ChatOpenAI, no network.

The case's fixture is built fresh, the recorded replies are served by `ReplayTransport` (a recorded 429 is
a 429 again, a recorded timeout raises `httpx.ReadTimeout` again, so the client retries as it did), every
tool really runs again, and recorded answers go to the run's questions. Then three comparisons:
- drift: each tool result that differs from the recording (after normalising volatile parts);
- outcome: the status, each checklist item and each gate's verdict against the recording (a difference
  that makes things worse, or a gate judging differently, is a regression and fails the replay);
- expectation: the `expect` of the transcript's header (status, failed items, phrases the report, a tool
  result or a gate must contain, gates that must have failed first, files that must exist, whether the
  project was put back).

A transcript of the offline policy holds no wire exchanges; its recorded replies are turned into the
`chat.completion` bodies they stand for, so it replays through ChatOpenAI the same way.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.config import ModelSettings, RunOptions
from agent.evals.cases import build_fixture, load_case
from agent.evals.drift import (
    ToolDrift,
    compare_gates,
    compare_outcomes,
    compare_tool_results,
    gate_outcomes,
    tool_results,
)
from agent.evals.recording import RunRecord, drive
from agent.models.openai import make_chat_openai
from agent.models.wire import ReplayTransport, recorded_exchanges
from agent.resources import PACKAGE_ROOT
from agent.runner import new_run_id
from agent.session import run_dir
from agent.transcript import TranscriptWriter, file_sha256, read_transcript

REPLAY_URL = "http://replay.invalid/v1"  # never contacted: the replay transport answers
REPLAY_KEY = "sk-replay-no-network"


class ReplayError(ValueError):
    """The transcript cannot be replayed (no header, unknown case, missing definition)."""


@dataclass
class ReplayResult:
    transcript: Path
    name: str
    report: dict[str, Any]
    project: Path
    drift: list[ToolDrift] = field(default_factory=list)
    regressions: list[str] = field(default_factory=list)
    improvements: list[str] = field(default_factory=list)
    unmet: list[str] = field(default_factory=list)  # expectations of the header not met
    notes: list[str] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.regressions and not self.unmet


def completion_bodies(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Exchanges standing for the recorded replies of a run without wire traffic (the offline policy)."""
    exchanges = []
    for number, event in enumerate((e for e in events if e["type"] == "model_response"), start=1):
        message = event["message"]
        calls = [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"], "arguments": json.dumps(c["args"])},
            }
            for c in message.get("tool_calls", [])
        ]
        reply: dict[str, Any] = {"role": "assistant", "content": message.get("content") or None}
        if calls:
            reply["tool_calls"] = calls
        finish = message.get("finish_reason") or (message.get("response_metadata") or {}).get("finish_reason")
        usage = message.get("usage") or message.get("usage_metadata") or {}
        tokens = {
            "prompt_tokens": usage.get("input_tokens", 0),
            "completion_tokens": usage.get("output_tokens", 0),
        }
        body = {
            "id": f"replay-{number}",
            "object": "chat.completion",
            "created": 0,
            "model": "offline-policy",
            "choices": [{"index": 0, "message": reply, "finish_reason": finish or "tool_calls"}],
            "usage": {**tokens, "total_tokens": sum(tokens.values())},
        }
        exchanges.append({"request": {}, "response": {"status": 200, "headers": {}, "json": body}})
    return exchanges


def _with_project(
    exchanges: list[dict[str, Any]], recorded: str | None, project: Path
) -> list[dict[str, Any]]:
    """Put the new fixture's path where the recording had its own (or `<project>` after compaction)."""
    text = json.dumps(exchanges).replace("<project>", str(project))
    if recorded and recorded != "<project>":
        text = text.replace(recorded, str(project))
    return json.loads(text)


def _options(header: dict[str, Any], project: Path) -> RunOptions:
    recorded = dict(header.get("options") or {})
    definition = recorded.get("definition")
    if definition and not Path(definition).is_absolute():
        definition = str(PACKAGE_ROOT / definition)
    if definition and not Path(definition).is_file():
        raise ReplayError(f"the recorded definition {definition} does not exist here")
    if ":**@" in (recorded.get("broker_url") or ""):  # the transcript masked its password: use the case's
        case = header.get("case") or {}
        recorded["broker_url"] = load_case(case["name"]).options(project, case.get("broker")).broker_url
    return RunOptions.model_validate(
        recorded | {"project": str(project), "python": sys.executable, "definition": definition}
    )


def replay_transcript(path: Path, workdir: Path) -> ReplayResult:
    """Replay one transcript in `workdir` (fixture, state folder); see the module docstring."""
    events = list(read_transcript(path))
    header = next((e for e in events if e["type"] == "header"), None)
    if header is None or not header.get("case"):
        raise ReplayError(f"{path}: no header naming its eval case (record it with `eval record`)")
    case = load_case(header["case"]["name"])
    project = build_fixture(case, workdir / "project")
    home = workdir / "state"
    options = _options(header, project)
    client = next((e for e in events if e["type"] == "model_client"), {})
    exchanges = recorded_exchanges(events) or completion_bodies(events)
    recorded_project = (header.get("options") or {}).get("project")
    transport = ReplayTransport(_with_project(exchanges, recorded_project, project))
    settings = ModelSettings(
        api_key=REPLAY_KEY,
        base_url=REPLAY_URL,
        max_retries=client.get("max_retries", 2),
        timeout=client.get("timeout", 60.0),
    )
    run_id = new_run_id()
    writer = TranscriptWriter(run_dir(run_id, home) / "transcript.jsonl")
    model = make_chat_openai(client.get("model", "offline-policy"), settings, transport, writer)
    answers = [str(e["answer"]) for e in events if e["type"] == "answer"]
    record = drive(options, home, run_id, model, f"replay of {header.get('model', 'a recording')}", answers)
    return _compare(path, events, header, record, project, transport)


def _compare(
    path: Path,
    events: list[dict[str, Any]],
    header: dict[str, Any],
    record: RunRecord,
    project: Path,
    transport: ReplayTransport,
) -> ReplayResult:
    replayed = record.events()
    report = record.report.model_dump(mode="json")
    recorded_report = next((e["report"] for e in reversed(events) if e["type"] == "report"), None)
    regressions, improvements = compare_outcomes(recorded_report, report)
    regressions += compare_gates(events, replayed)
    recorded_project = (header.get("options") or {}).get("project")
    drift = compare_tool_results(
        tool_results(events, recorded_project, None), tool_results(replayed, str(project), str(record.home))
    )
    result = ReplayResult(
        transcript=path,
        name=(header.get("scenario") or header["case"]).get("name", path.stem),
        report=report,
        project=project,
        drift=drift,
        regressions=regressions,
        improvements=improvements,
        unmet=_unmet(header.get("expect") or {}, report, replayed, project),
        usage=report.get("usage", {}),
    )
    if transport.served < len(transport.exchanges):
        result.notes.append(f"{len(transport.exchanges) - transport.served} recorded exchanges were not used")
    if transport.overrun:
        result.regressions.append("the run asked for more model calls than were recorded")
    definition = Path(report["definition"])
    if header.get("definition_sha256") and file_sha256(definition) != header["definition_sha256"]:
        result.notes.append(f"the definition {definition.name} changed since the recording")
    return result


def _unmet(
    expect: dict[str, Any], report: dict[str, Any], events: list[dict[str, Any]], project: Path
) -> list[str]:
    unmet = []
    if "status" in expect and report["status"] != expect["status"]:
        unmet.append(f"status {report['status']}, expected {expect['status']} ({report.get('error')})")
    failed = sorted(c["key"] for c in report["checklist"] if not c["passed"])
    if "failed_items" in expect and report["status"] == "passed" and failed != sorted(expect["failed_items"]):
        unmet.append(f"failed items {failed}, expected {sorted(expect['failed_items'])}")
    texts = [report.get("error") or "", *(c["evidence"] for c in report["checklist"])]
    texts += [str(e.get("content", "")) for e in events if e["type"] == "tool_result"]
    texts += [r["evidence"] for e in events if e["type"] == "gate" for r in e["results"]]
    haystack = "\n".join(texts)
    unmet += [
        f"no report line or tool result contains {p!r}"
        for p in expect.get("phrases", [])
        if p not in haystack
    ]
    unmet += [
        f"{rel} does not exist after the run"
        for rel in expect.get("exists", [])
        if not (project / rel).exists()
    ]
    failing = {}
    for phase, _attempt, failed_now in gate_outcomes(events):
        failing.setdefault(phase, set()).update(failed_now)
    for phase, keys in (expect.get("failed_gates") or {}).items():
        if not set(keys) <= failing.get(phase, set()):
            unmet.append(
                f"the {phase} gate never failed {sorted(keys)} (it failed {sorted(failing.get(phase, []))})"
            )
    if "rolled_back" in expect and report.get("rolled_back") != expect["rolled_back"]:
        unmet.append(f"rolled_back is {report.get('rolled_back')}, expected {expect['rolled_back']}")
    return unmet
