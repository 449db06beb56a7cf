"""The real-project report: `real.json` (every row in full) and `real.md` (the table, then what went wrong)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.evals.real import row_ok

Row = dict[str, Any]
MARKS = {True: "✓", False: "✗", None: "–"}
HEAD = ["project", "broker", *map(str, range(1, 12)), "status", "tests before", "tests after", "ruff"]
HEAD += [
    "2nd run Δ",
    "left unchanged",
    "audit before",
    "audit after",
    "celery-audit c/h/m",
    "wall s",
    "all met",
]


def _suite(suite: dict[str, Any] | None, expected: int | None = None) -> str:
    if not suite:
        return "–"
    text = f"{suite['passed']}/{suite['ran']}"
    if suite.get("failed") or suite.get("errors"):
        text += f" ({suite['failed']}F {suite['errors']}E)"
    if expected is not None and suite["passed"] != expected:
        text += f" **≠{expected}**"
    return text


def _audit(audit: dict[str, Any] | None) -> str:
    """`exit 0, 10/10` for our audit; `CHANGED` when the tree differed after it (it must write nothing)."""
    if not audit:
        return "–"
    if "items" not in audit:
        return f"exit {audit.get('exit')}: {audit.get('error', '')[:60]}"
    text = f"exit {audit['exit']}, {audit['items_passed']}/{audit['items']}"
    return text if audit["unchanged"] else text + " **CHANGED**"


def _lint(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """critical/high/medium counts of celery-audit, before → after our run."""

    def counts(found: dict[str, Any] | None) -> str:
        if not found or "counts" not in found:
            return "–"
        c = found["counts"]
        return f"{c['critical']}/{c['high']}/{c['medium']}"

    return f"{counts(before)} → {counts(after)}" if before else counts(after)


def _cells(row: Row) -> list[str]:
    items = row.get("items") or {}
    marks = [MARKS[items.get(str(n))] for n in range(1, 12)]
    ruff = (row.get("ruff") or {}).get("findings")
    second = row.get("second_run_changes")
    return [
        row["project"],
        row.get("broker", "–"),
        *marks,
        str(row.get("status")),
        _suite(row.get("suite_before"), row.get("expected_tests")) if row.get("broker") != "redis" else "″",
        _suite(row.get("suite_after")) + (f" (+{row['tests_added']})" if row.get("tests_added") else ""),
        "–" if ruff is None else str(ruff),
        "–" if second is None else str(len(second)),
        MARKS[row.get("left_unchanged")],
        _audit(row.get("audit_before")) if row.get("broker") != "redis" else "″",
        _audit(row.get("audit_after")),
        _lint(row.get("lint_before"), row.get("lint_after")) if row.get("broker") != "redis" else "″",
        str(row.get("wall_s", "–")),
        "yes" if row_ok(row) else "**no**",
    ]


def markdown(rows: list[Row], meta: dict[str, Any]) -> str:
    lines = [
        f"# Real-project eval — {meta['started']}",
        "",
        f"`{meta['command']}` · {meta['wall_s']} s wall",
        "",
    ]
    lines += ["| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in rows]
    met = sum(row_ok(r) for r in rows)
    lines += ["", f"{met}/{len(rows)} project × broker runs met everything.", "", "## Projects", ""]
    seen: set[str] = set()
    for row in rows:
        if row["project"] in seen:
            continue
        seen.add(row["project"])
        lines.append(
            f"- **{row['project']}** — {row['repo']}@{row['commit'][:12]}, Django {row.get('django', '?')}, "
            f"{', '.join(row.get('features', []))}"
        )
    linted = [r for r in rows if "lint_after" in r]  # the first broker's row; the linter reads files only
    if linted:
        lines += ["", "## celery-audit: critical, high and medium findings", ""]
    for row in linted:
        for when in ("before", "after"):
            found = row.get(f"lint_{when}") or {}
            serious = found.get("serious", [])
            lines.append(f"- **{row['project']}**, {when} our run: {'; '.join(serious) or 'none'}")
    problems = [r for r in rows if not row_ok(r)]
    if problems:
        lines += ["", "## What went wrong", ""]
    for row in problems:
        lines.append(
            f"- **{row['project']} · {row.get('broker')}**: {row.get('status')} — {row.get('error') or ''}"
        )
        lines += [f"  - {e}" for e in row.get("failed_evidence", [])]
        before = row.get("suite_before") or {}
        if before and before.get("passed") != row.get("expected_tests"):
            lines.append(
                f"  - its suite passed {before.get('passed')} before any run; the case expects {row['expected_tests']}"
            )
        if row.get("unreported_changes"):
            lines.append(f"  - changed but not in the report: {', '.join(row['unreported_changes'][:8])}")
        if row.get("second_run_changes"):
            lines.append(f"  - the second run changed {', '.join(row['second_run_changes'][:8])}")
        if (row.get("ruff") or {}).get("findings"):
            lines.append(f"  - ruff: {row['ruff']['output'][:400]}")
        for when in ("before", "after"):
            audit = row.get(f"audit_{when}") or {}
            if audit and (not audit.get("unchanged") or (when == "after" and audit.get("exit"))):
                lines.append(
                    f"  - audit {when}: exit {audit.get('exit')}; {'; '.join(audit.get('failed', []))[:400]}"
                )
        if row.get("tests_kept") is False:
            lines.append(f"  - its suite after: {(row.get('suite_after') or {}).get('tail', '')[:400]}")
    return "\n".join(lines) + "\n"


def write_real_report(rows: list[Row], out_dir: Path, meta: dict[str, Any]) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    as_json, as_md = out_dir / "real.json", out_dir / "real.md"
    as_json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2, default=str), encoding="utf-8")
    as_md.write_text(markdown(rows, meta), encoding="utf-8")
    return as_json, as_md
