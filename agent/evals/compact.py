"""Compact a run's transcript into what replay and drift need, small enough to keep in the repository.

A run's own transcript (in the state folder) keeps everything: every request body — the whole
conversation, again at every call — and every tool result in full. The compact form keeps the responses
whole (replay serves them), summarises requests (model, message count, the last message, a digest of
the body), keeps tool results as a normalised excerpt plus the digest of the whole (drift compares
digests), and drops timestamps and the tool-call events (the replies hold the calls). Paths of the
run's temporary project become `<project>`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.evals.drift import EXCERPT_CHARS, digest, line_digests, normalise
from agent.resources import PACKAGE_ROOT

EVIDENCE_CHARS = 200
# Events that only describe the run; the others (model replies, tool arguments, answers) are fed back
# into a replay, so only their paths are normalised (`<project>` is put back by replay).
DESCRIPTIVE = {"header", "phase", "gate", "interrupt", "report", "model_error"}


def _excerpt(text: Any, limit: int) -> str:
    text = text if isinstance(text, str) else json.dumps(text, default=str)
    return text if len(text) <= limit else text[:limit] + "…"


def _request_summary(request: dict[str, Any]) -> dict[str, Any]:
    body = request.get("json")
    summary: dict[str, Any] = {"method": request.get("method"), "path": request.get("path")}
    if not isinstance(body, dict):
        return summary | {"text": _excerpt(request.get("text", ""), 200)}
    messages = body.get("messages") or []
    last = messages[-1] if messages else {}
    return summary | {
        "model": body.get("model"),
        "messages": len(messages),
        "last": {"role": last.get("role"), "content": _excerpt(last.get("content") or "", 80)},
        "tools": len(body.get("tools") or []),
        "sha256": digest(json.dumps(body, sort_keys=True)),
    }


def _checks(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "key": r["key"],
            "number": r.get("number", 0),
            "passed": r["passed"],
            "evidence": _excerpt(r.get("evidence", ""), EVIDENCE_CHARS),
        }
        for r in results
    ]


def _message(message: dict[str, Any]) -> dict[str, Any]:
    """A model reply as the graph saw it: enough to read the run, and to replay an offline policy run."""
    return {
        "content": message.get("content", ""),
        "tool_calls": [
            {"name": c["name"], "args": c["args"], "id": c["id"]} for c in message.get("tool_calls", [])
        ],
        "invalid_tool_calls": message.get("invalid_tool_calls", []),
        "finish_reason": (message.get("response_metadata") or {}).get("finish_reason"),
        "usage": message.get("usage_metadata"),
    }


def compact_event(
    event: dict[str, Any], project: str | None, home: str | None, wire: bool = False
) -> dict[str, Any]:
    """One event in compact form; `wire`: the run's replies are kept whole in its model exchanges."""
    kind = event["type"]
    kept = {k: v for k, v in event.items() if k != "ts"}
    if kind == "header":
        kept.pop("started_at", None)
        kept["definition"] = _repo_relative(kept.get("definition", ""))
        kept["options"] = {**kept.get("options", {}), "project": "<project>", "python": None}
        if kept["options"].get("definition"):
            kept["options"]["definition"] = _repo_relative(kept["options"]["definition"])
    elif kind == "model_exchange":
        kept["request"] = _request_summary(event.get("request", {}))
    elif kind == "model_response":
        message = _message(event.get("message", {}))
        if wire:  # only what makes the transcript readable: the exchange holds the reply itself
            message = {"tool_calls": [c["name"] for c in message["tool_calls"]], "usage": message["usage"]}
        kept["message"] = message
    elif kind == "tool_result":
        text = normalise(str(event.get("content", "")), project, home)
        kept |= {"content": text[:EXCERPT_CHARS], "sha256": digest(text), "chars": len(text)}
        if len(text) > EXCERPT_CHARS:
            kept["lines"] = line_digests(text)
    elif kind == "gate":
        kept["results"] = _checks(event.get("results", []))
    elif kind == "report":
        report = event.get("report", {})
        kept["report"] = {
            "status": report.get("status"),
            "error": report.get("error"),
            "checklist": [
                {"key": r["key"], "number": r.get("number", 0), "passed": r["passed"]}
                for r in report.get("checklist", [])
            ],
            "decisions": report.get("decisions"),
            "changed_files": report.get("changed_files", []),
            "rolled_back": report.get("rolled_back", False),
            "usage": report.get("usage", {}),
        }
    if kind == "tool_result":
        return kept
    line = normalise(json.dumps(kept, ensure_ascii=False), project, home, volatile=kind in DESCRIPTIVE)
    return json.loads(line)


def _repo_relative(path: str) -> str:
    try:
        return Path(path).resolve().relative_to(PACKAGE_ROOT).as_posix()
    except ValueError:
        return path


def compact_transcript(
    events: list[dict[str, Any]], home: str | Path | None = None, **header_extra: Any
) -> list[dict[str, Any]]:
    """The compact form of a run's events; `header_extra` (case, expect, …) is merged into the header."""
    header = next((e for e in events if e["type"] == "header"), {})
    project = (header.get("options") or {}).get("project")
    wire = any(e["type"] == "model_exchange" for e in events)
    # tool_call events repeat what the model's replies already hold (name, arguments, id)
    result = [
        compact_event(e, project, str(home) if home else None, wire)
        for e in events
        if e["type"] != "tool_call"
    ]
    for event in result:
        if event["type"] == "header":
            event.update(header_extra)
    return result


def write_jsonl(events: list[dict[str, Any]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), encoding="utf-8")
    return path
