"""The eval report: `report.json` (every row in full) and `report.md` (one table, totals, what went wrong)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from agent.checklist import CHECKLIST

Row = dict[str, Any]
MARKS = {True: "✓", False: "✗", None: "–"}


def totals(rows: list[Row]) -> dict[str, Any]:
    ran = [r for r in rows if r.get("status") != "skipped"]
    summed = {
        key: sum(r.get(key, 0) for r in ran)
        for key in ("model_calls", "prompt_tokens", "completion_tokens", "tool_calls", "wall_s")
    }
    count = len(ran) or 1
    return {
        "runs": len(ran),
        "skipped": len(rows) - len(ran),
        "passed": sum(r.get("status") == "passed" for r in ran),
        "expectations_met": sum(bool(r.get("met")) for r in ran),
        **summed,
        "wall_s": round(summed["wall_s"], 1),
        "drifting_tool_results": sum(len(r.get("drift", [])) for r in ran),
        "per_integration": {
            "model_calls": round(summed["model_calls"] / count, 1),
            "prompt_tokens": round(summed["prompt_tokens"] / count),
            "completion_tokens": round(summed["completion_tokens"] / count),
            "tool_calls": round(summed["tool_calls"] / count, 1),
            "wall_s": round(summed["wall_s"] / count, 1),
        },
    }


def markdown(rows: list[Row]) -> str:
    numbers = [str(item.number) for item in CHECKLIST]
    head = ["case", "broker", *numbers, "status", "expected", "model calls", "prompt tok", "compl. tok"]
    head += ["tool calls", "wall s", "drift", "2nd run Δ", "project tests", "ruff"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        items = row.get("items") or {}
        marks = [MARKS[items.get(item.key)] for item in CHECKLIST]
        if row.get("status") == "skipped":
            cells = [row["case"], row["broker"], *marks, "skipped", "–", *["–"] * 9]
        else:
            cells = [
                row["case"],
                row["broker"],
                *marks,
                row["status"],
                "yes" if row["met"] else "**no**",
                str(row["model_calls"]),
                str(row["prompt_tokens"]),
                str(row["completion_tokens"]),
                str(row["tool_calls"]),
                f"{row['wall_s']:.1f}",
                str(len(row["drift"])) if row.get("reference") else "–",  # – : no recorded reference
                str(row["second_run_changes"]),
                *_user_view_cells(row.get("user_view")),
            ]
        lines.append("| " + " | ".join(cells) + " |")
    total = totals(rows)
    each = total["per_integration"]
    lines.append(
        "| **total** | "
        + f"{total['runs']} run{'' if total['runs'] == 1 else 's'} | "
        + " | ".join([""] * len(numbers))
        + f" | {total['passed']} passed | {total['expectations_met']}/{total['runs']} | {total['model_calls']} | "
        f"{total['prompt_tokens']} | {total['completion_tokens']} | {total['tool_calls']} | "
        f"{total['wall_s']:.1f} | {total['drifting_tool_results']} | | | |"
    )
    lines += [
        "",
        f"Per integration (mean of {total['runs']}): {each['model_calls']} model calls, "
        f"{each['prompt_tokens']} prompt + {each['completion_tokens']} completion tokens, "
        f"{each['tool_calls']} tool calls, {each['wall_s']} s.",
        "",
        "Items: " + "; ".join(f"{item.number} {item.key}" for item in CHECKLIST) + ".",
    ]
    problems = [
        f"- {r['case']} · {r['broker']}: {line}"
        for r in rows
        for line in [*r.get("unmet", []), *(f"drift: {d}" for d in r.get("drift", []))]
        + ([f"skipped: {r['error']}"] if r.get("status") == "skipped" else [])
    ]
    if problems:
        lines += ["", "Notes:", *problems]
    return "\n".join(lines) + "\n"


def _user_view_cells(view: dict[str, Any] | None) -> list[str]:
    """`passed/total` of the project's own tests (✗ when any failed) and ruff's finding count."""
    if not view:
        return ["–", "–"]
    tests = view["project_tests"]
    if tests["error"]:
        cell = "**error**"
    else:
        total = tests["passed"] + len(tests["failed"])
        cell = f"{tests['passed']}/{total}" + (" ✗" if tests["failed"] else "")
    findings = view["ruff"]["findings"]
    return [cell, "–" if findings is None else str(findings)]


def write_report(rows: list[Row], out_dir: Path, meta: dict[str, Any]) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {"created": time.strftime("%Y-%m-%dT%H:%M:%S"), **meta, "rows": rows, "totals": totals(rows)}
    json_path = out_dir / "report.json"
    json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path = out_dir / "report.md"
    md_path.write_text(markdown(rows), encoding="utf-8")
    return json_path, md_path
