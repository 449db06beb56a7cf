"""Drift: what a new run's tool results and checklist do differently from a recorded run.

Tool results are compared after the volatile parts are normalised away — the project's temporary path,
the state folder, the evaluating interpreter's virtualenv, run ids, timings, worker node names, task ids,
dates — so only real differences count. Each differing result is reported with its phase, tool and first
differing line.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VOLATILE = [
    (re.compile(r"django-insecure-[^'\"\s]+"), "django-insecure-<generated>"),  # startproject's random key
    (re.compile(r"\b\d{8}-\d{6}-[0-9a-f]{6}\b"), "<run>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"), "<datetime>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b"), "<date>"),
    (re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s|seconds)\b"), "<time>"),
    (re.compile(r"\b((?:celery|worker)[\w-]*)@[\w.-]+"), r"\1@<host>"),
    (re.compile(r"\bpid[ =:]?\d+\b", re.IGNORECASE), "pid <n>"),
    (re.compile(r"\bdjint_eval_[0-9a-f]{12}\b"), "djint_eval_<db>"),  # a fixture's PostgreSQL database
]
EXCERPT_CHARS = 600  # characters of a tool result a compact transcript keeps (plus line digests)


def normalise(
    text: str, project: str | Path | None = None, home: str | Path | None = None, volatile: bool = True
) -> str:
    """`text` with the parts that differ between two equivalent runs replaced by placeholders.

    `volatile=False` replaces only the paths: for text that is fed back into a run (a model's reply, a
    user's answer), where a date or a duration is content, not noise.
    """
    replacements = []
    for path, placeholder in ((project, "<project>"), (home, "<home>")):
        if path:
            replacements += [(str(path), placeholder), (str(Path(path).resolve()), placeholder)]
    replacements.append((str(Path(sys.executable).parent), "<python-bin>"))
    if sys.prefix != sys.base_prefix:  # a virtualenv: its site-packages in a traceback is where it lives
        replacements.append((sys.prefix, "<python-prefix>"))
    for value, placeholder in sorted(replacements, key=lambda r: -len(r[0])):
        text = text.replace(value, placeholder)
    for pattern, placeholder in VOLATILE if volatile else ():
        text = pattern.sub(placeholder, text)
    return text


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class ToolDrift:
    index: int  # position among the run's tool results
    phase: str
    tool: str
    detail: str  # the first differing line, or what is missing

    def __str__(self) -> str:
        return f"{self.phase} · {self.tool} (result {self.index + 1}): {self.detail}"


LINE_DIGEST = 6  # hex characters per line: enough to tell two versions of one line apart


def line_digests(text: str) -> str:
    """A short digest per line, concatenated: finds the first differing line of a result kept as an excerpt."""
    return "".join(digest(line)[:LINE_DIGEST] for line in text.splitlines())


@dataclass
class RecordedResult:
    """A tool result as a transcript keeps it: the normalised text (or its first part), the digest of
    the whole, and one digest per line."""

    phase: str
    tool: str
    text: str
    sha256: str
    lines: list[str]  # the digest of each line

    @classmethod
    def of(cls, event: dict[str, Any], project: str | None, home: str | None) -> RecordedResult:
        phase, tool = event.get("phase", ""), event.get("name", "")
        if "sha256" in event:  # already compacted (normalised when it was written)
            text = event.get("content", "")
            return cls(phase, tool, text, event["sha256"], _split(event.get("lines") or line_digests(text)))
        text = normalise(str(event.get("content", "")), project, home)
        return cls(phase, tool, text, digest(text), _split(line_digests(text)))

    def line(self, index: int) -> str | None:
        """Line `index` when the kept text holds all of it."""
        kept = self.text.splitlines()
        complete = kept if len(kept) == len(self.lines) else kept[:-1]  # an excerpt's last line is cut
        return complete[index] if index < len(complete) else None


def _split(digests: str) -> list[str]:
    return [digests[i : i + LINE_DIGEST] for i in range(0, len(digests), LINE_DIGEST)]


def tool_results(events: list[dict[str, Any]], project: str | None, home: str | None) -> list[RecordedResult]:
    return [RecordedResult.of(e, project, home) for e in events if e.get("type") == "tool_result"]


def compare_tool_results(recorded: list[RecordedResult], replayed: list[RecordedResult]) -> list[ToolDrift]:
    drift = []
    for index, (old, new) in enumerate(zip(recorded, replayed, strict=False)):
        if (old.phase, old.tool) != (new.phase, new.tool):
            detail = f"recorded {old.phase} · {old.tool}, now {new.phase} · {new.tool}"
            drift.append(ToolDrift(index, new.phase, new.tool, detail))
        elif old.sha256 != new.sha256:
            drift.append(ToolDrift(index, new.phase, new.tool, first_difference(old, new)))
    for index, extra in enumerate(replayed[len(recorded) :], start=len(recorded)):
        drift.append(ToolDrift(index, extra.phase, extra.tool, "not in the recording (an extra tool call)"))
    for index, missing in enumerate(recorded[len(replayed) :], start=len(replayed)):
        drift.append(ToolDrift(index, missing.phase, missing.tool, "recorded, but not made this time"))
    return drift


def first_difference(recorded: RecordedResult, now: RecordedResult) -> str:
    pairs = zip(recorded.lines, now.lines, strict=False)
    index = next((i for i, (old, new) in enumerate(pairs) if old != new), None)
    if index is None:
        if len(recorded.lines) != len(now.lines):
            return f"recorded {len(recorded.lines)} lines, now {len(now.lines)}"
        return "differs in line endings or trailing whitespace only"
    old, new = recorded.line(index), now.line(index)
    before = repr(_clip(old)) if old is not None else "a line the transcript keeps only as a digest"
    after = repr(_clip(new)) if new is not None else "(not kept)"
    return f"line {index + 1}: recorded {before}, now {after}"


def _clip(line: str, limit: int = 120) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"


def checklist_outcome(report: dict[str, Any] | None) -> dict[str, bool]:
    return {item["key"]: bool(item["passed"]) for item in (report or {}).get("checklist", [])}


def compare_outcomes(
    recorded: dict[str, Any] | None, replayed: dict[str, Any]
) -> tuple[list[str], list[str]]:
    """(regressions, improvements) between two reports: status and per-item pass/fail."""
    if recorded is None:
        return ["the recording has no final report to compare with"], []
    regressions, improvements = [], []
    if recorded.get("status") != replayed.get("status"):
        regressions.append(f"status: recorded {recorded.get('status')}, now {replayed.get('status')}")
    old, new = checklist_outcome(recorded), checklist_outcome(replayed)
    numbers = {item["key"]: item.get("number") for item in replayed.get("checklist", [])}
    worse = [f"#{numbers.get(k)} {k}" for k, passed in old.items() if passed and not new.get(k, False)]
    better = [f"#{numbers.get(k)} {k}" for k, passed in old.items() if not passed and new.get(k, False)]
    if worse:
        regressions.append("passed in the recording, fail now: " + ", ".join(worse))
    if better:
        improvements.append("failed in the recording, pass now: " + ", ".join(better))
    return regressions, improvements


def gate_outcomes(events: list[dict[str, Any]]) -> list[tuple[str, int, list[str]]]:
    """(phase, attempt, failed item keys) of every gate the run went through, in order."""
    return [
        (e["phase"], e["attempt"], sorted(r["key"] for r in e["results"] if not r["passed"]))
        for e in events
        if e.get("type") == "gate"
    ]


def compare_gates(recorded: list[dict[str, Any]], replayed: list[dict[str, Any]]) -> list[str]:
    """Gates that judged differently: the run took another path than the recording (a regression)."""
    old, new = gate_outcomes(recorded), gate_outcomes(replayed)
    changes = []
    for (phase, attempt, was), (now_phase, now_attempt, now) in zip(old, new, strict=False):
        if (phase, attempt, was) != (now_phase, now_attempt, now):
            changes.append(
                f"gate {phase} attempt {attempt}: recorded failing {was or 'nothing'}; "
                f"now {now_phase} attempt {now_attempt} failing {now or 'nothing'}"
            )
            break  # after the first difference the two runs are on different paths
    if not changes and len(old) != len(new):
        changes.append(f"the recording went through {len(old)} gates, the replay through {len(new)}")
    return changes
