"""`django-integrator eval reliability`: every kill point and the whole bad-input corpus, and their figures.

The figures are the ones a user needs to trust the tool with a project: kills survived / tried, bad inputs
handled / tried, bytes lost (original bytes missing or changed, plus bytes left behind, after every
recovery and every refused input), secrets written (planted passwords and the agent's model key found in
any output, record, project file or project process), processes left behind, and how long discovery takes
on a 10,000-file repository. The report goes to `evals/reports/reliability-<time>/report.{json,md}`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from agent.demo import make_sample_project
from agent.evals.bad_input_runner import CaseOutcome, run_corpus
from agent.evals.bad_inputs import CASES
from agent.evals.kill_points import KillOutcome, run_kill_points
from agent.resources import EVALS_DIR

MIN_KILLS = 20


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("reliability", help="kill points and the bad-input corpus, with their figures")
    parser.add_argument(
        "--kills", type=int, default=24, help=f"kill points (default 24, at least {MIN_KILLS})"
    )
    parser.add_argument("--out", help="report folder (default: evals/reports/reliability-<timestamp>)")


def figures(kills: list[KillOutcome], corpus: list[CaseOutcome], seconds: float) -> dict[str, object]:
    discovery = next((c.seconds for c in corpus if c.name == "ten_thousand_files"), None)
    return {
        "kills_survived": sum(k.survived for k in kills),
        "kills_tried": len(kills),
        "bad_inputs_handled": sum(c.handled for c in corpus),
        "bad_inputs_tried": len(corpus),
        "bytes_lost": sum(k.bytes_lost for k in kills) + sum(c.bytes_lost for c in corpus),
        "secrets_written": sum(k.secrets_written for k in kills) + sum(c.secrets_written for c in corpus),
        "processes_left": sum(k.processes_left for k in kills) + sum(c.processes_left for c in corpus),
        "temp_folders_left": sum(k.temp_left for k in kills),
        "discovery_10000_files_s": discovery,
        "wall_s": round(seconds, 1),
    }


def cell(text: str, limit: int = 200) -> str:
    """Text fit for one markdown table cell: one line, pipes escaped, clipped."""
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def markdown(summary: dict[str, object], kills: list[KillOutcome], corpus: list[CaseOutcome]) -> str:
    lines = [
        "| figure | value |",
        "|---|---|",
        f"| kills survived / tried | {summary['kills_survived']}/{summary['kills_tried']} |",
        f"| bad inputs handled / tried | {summary['bad_inputs_handled']}/{summary['bad_inputs_tried']} |",
        f"| bytes lost | {summary['bytes_lost']} |",
        f"| secrets written | {summary['secrets_written']} |",
        f"| processes left behind | {summary['processes_left']} |",
        f"| temp folders left | {summary['temp_folders_left']} |",
        f"| discovery on a 10,000-file repository | {summary['discovery_10000_files_s']} s |",
        f"| wall time | {summary['wall_s']} s |",
        "",
        "| kill point | phase | target | recovery | result |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {k.point} | {k.phase} | {k.target} | {k.recovery} | {cell(k.detail)} |" for k in kills]
    lines += ["", "| bad input | exit | handled | message |", "|---|---|---|---|"]
    for case in corpus:
        verdict = "yes" if case.handled else "NO: " + "; ".join(case.problems)
        lines.append(f"| {case.name} | {case.exit_code} | {cell(verdict)} | {cell(case.message)} |")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """Run everything, print the figures and the tables, write the report; exit 1 unless all held."""
    if args.kills < MIN_KILLS:
        print(f"django-integrator eval: --kills must be at least {MIN_KILLS}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else EVALS_DIR / "reports" / time.strftime("reliability-%Y%m%d-%H%M%S")
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="djint-reliability-"))
    try:
        print(f"Kill points ({args.kills})…", flush=True)
        kills = run_kill_points(work / "kills", args.kills)
        print(f"Bad-input corpus ({len(CASES)} cases)…", flush=True)
        template = make_sample_project(work / "template" / "mysite")
        corpus = run_corpus(CASES, template, work / "corpus")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = figures(kills, corpus, time.perf_counter() - started)
    text = markdown(summary, kills, corpus)
    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "figures": summary,
        "kills": [k.model_dump() for k in kills],
        "bad_inputs": [c.model_dump() for c in corpus],
    }
    (out / "report.json").write_text(json.dumps(payload, indent=2) + "\n")
    (out / "report.md").write_text(text)
    print(text + f"\nReport: {out / 'report.md'} and {out / 'report.json'}")
    held = summary["kills_survived"] == len(kills) and summary["bad_inputs_handled"] == len(corpus)
    return 0 if held else 1
