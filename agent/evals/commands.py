"""`django-integrator eval run | replay | record`.

- `run [--cases a,b] [--brokers embedded,redis] [--jobs N] [--out DIR] [--model ID] [--record]`: every case
  × broker, report.json + report.md, the table printed. Exit 1 when a case misses its expectations.
- `replay TRANSCRIPT|DIR…`: the recorded replies through the real ChatOpenAI (no network), the tools run
  again on a fresh fixture; drift and outcome reported. Exit 1 on a regression or an unmet expectation.
- `real [--only NAME] [--broker embedded|redis]`: the public projects of `evals/real/` (see
  `agent.evals.real`).
- `reliability [--kills N]`: SIGKILL runs at N ≥ 20 points and run the bad-input corpus; the figures (see
  `agent.evals.reliability`). Exit 1 unless every kill was survived and every bad input handled.
- `record --scenario NAME|all` (the scripted OpenAI server) or `record --case NAME [--model ID]` (the
  offline policy, or a configured model over the network): writes compact transcripts to
  `evals/transcripts/`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from agent.evals import real_command, reliability
from agent.evals.cases import CaseError, all_cases, build_fixture, load_case
from agent.evals.compact import write_jsonl
from agent.evals.real_cases import RealCaseError
from agent.evals.recording import TRANSCRIPTS_DIR, case_header, record_scenario, run_case, scenario_header
from agent.evals.replay import ReplayError, ReplayResult, replay_transcript
from agent.evals.report import markdown, write_report
from agent.evals.runner import OFFLINE_TRANSCRIPTS, run_cases
from agent.evals.scenarios import SCENARIOS
from agent.resources import EVALS_DIR

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="django-integrator eval", description="Eval cases and transcripts.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run every case × broker and print the report table")
    run.add_argument("--cases", help="comma-separated case names (default: every evals/cases/*.toml)")
    run.add_argument("--brokers", help="comma-separated: embedded, redis, rabbitmq (default: each case's)")
    run.add_argument("--jobs", type=int, default=1, help="cases run in this many processes (default 1)")
    run.add_argument("--out", help="report folder (default: evals/reports/<timestamp>)")
    run.add_argument(
        "--model", help="evaluate this model instead of the offline policy (recorded at the wire)"
    )
    run.add_argument(
        "--record", action="store_true", help="save each case's offline transcript as its new reference"
    )
    replay = sub.add_parser("replay", help="replay transcripts through ChatOpenAI, no network")
    replay.add_argument("transcripts", nargs="+", help="transcript files, or folders of *.jsonl")
    replay.add_argument("--keep", help="build the fixtures here and keep them (default: a temporary folder)")
    real_command.add_parser(sub)
    reliability.add_parser(sub)
    record = sub.add_parser("record", help="record transcripts into evals/transcripts/")
    source = record.add_mutually_exclusive_group(required=True)
    source.add_argument("--scenario", help=f"a scripted scenario, or all: {', '.join(SCENARIOS)}")
    source.add_argument("--case", help="a case, run with the offline policy or --model")
    record.add_argument("--model", help="with --case: a configured model (OPENAI_BASE_URL, OPENAI_API_KEY)")
    record.add_argument("--out", help="folder for the transcripts (default: evals/transcripts/<kind>)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "real":
            return real_command.run(args, ["eval", *(argv if argv is not None else sys.argv[2:])])
        if args.command == "reliability":
            return reliability.run(args)
        if args.command == "replay":
            return _replay([Path(p) for p in args.transcripts], Path(args.keep) if args.keep else None)
        return _record(args)
    except (CaseError, ReplayError, RealCaseError) as exc:
        print(f"django-integrator eval: {exc}", file=sys.stderr)
        return EXIT_INPUT


def _run(args: argparse.Namespace) -> int:
    cases = all_cases(_csv(args.cases))
    out = Path(args.out) if args.out else EVALS_DIR / "reports" / time.strftime("%Y%m%d-%H%M%S")

    def progress(row: dict) -> None:
        print(f"  {row['case']} · {row['broker']}: {row['status']}", file=sys.stderr, flush=True)

    rows = run_cases(cases, _csv(args.brokers), out, args.jobs, args.model, args.record, progress)
    json_path, md_path = write_report(rows, out, {"model": args.model or "offline policy", "jobs": args.jobs})
    print(markdown(rows), end="")
    print(f"\nReport: {md_path} and {json_path}")
    return EXIT_OK if all(r["met"] for r in rows) else EXIT_FAILED


def _transcript_files(paths: list[Path]) -> list[Path]:
    found = []
    for path in paths:
        found += sorted(path.rglob("*.jsonl")) if path.is_dir() else [path]
    missing = [p for p in found if not p.is_file()]
    if missing:
        raise ReplayError(f"no transcript at {', '.join(map(str, missing))}")
    return found


def describe(result: ReplayResult) -> list[str]:
    verdict = "ok" if result.ok else "REGRESSION"
    usage = result.usage
    lines = [
        f"{result.name}: {result.report['status']} — {verdict} "
        f"({usage.get('model_calls', 0)} model calls, {usage.get('prompt_tokens', 0)} + "
        f"{usage.get('completion_tokens', 0)} tokens, {usage.get('tool_calls', 0)} tool calls)"
    ]
    if result.report.get("error"):
        lines.append(f"  error: {result.report['error']}")
    lines += [f"  regression: {r}" for r in result.regressions]
    lines += [f"  expectation not met: {u}" for u in result.unmet]
    lines += [f"  drift: {d}" for d in result.drift]
    lines += [f"  improvement: {i}" for i in result.improvements]
    lines += [f"  note: {n}" for n in result.notes]
    return lines


def _replay(paths: list[Path], keep: Path | None) -> int:
    files = _transcript_files(paths)
    if keep is not None:
        return _replay_in(files, keep)
    with tempfile.TemporaryDirectory(prefix="django-integrator-replay-") as workroot:
        return _replay_in(files, Path(workroot))


def _replay_in(files: list[Path], root: Path) -> int:
    failed = 0
    for number, path in enumerate(files, start=1):
        result = replay_transcript(path, root / f"{number:02d}-{path.stem}")
        failed += not result.ok
        print("\n".join(describe(result)), flush=True)
    print(f"\n{len(files) - failed}/{len(files)} transcripts replayed to their recorded outcome.")
    return EXIT_OK if not failed else EXIT_FAILED


def _record(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="django-integrator-record-") as workroot:
        return _record_in(args, Path(workroot))


def _record_in(args: argparse.Namespace, workroot: Path) -> int:
    if args.scenario:
        names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
        unknown = [n for n in names if n not in SCENARIOS]
        if unknown:
            print(
                f"django-integrator eval: no scenario {unknown[0]!r} ({', '.join(SCENARIOS)})",
                file=sys.stderr,
            )
            return EXIT_INPUT
        out = Path(args.out) if args.out else TRANSCRIPTS_DIR / "llm"
        for name in names:
            record = record_scenario(SCENARIOS[name], workroot / name)
            path = write_jsonl(record.compact(**scenario_header(SCENARIOS[name])), out / f"{name}.jsonl")
            print(f"{name}: {record.report.status} → {path}")
        return EXIT_OK
    case = load_case(args.case)
    broker = case.brokers[0]
    record = run_case(case, build_fixture(case, workroot / "project"), workroot / "state", broker, args.model)
    default_dir = OFFLINE_TRANSCRIPTS if args.model is None else TRANSCRIPTS_DIR / "models"
    name = case.name if args.model is None else f"{case.name}-{args.model.replace('/', '_')}"
    path = write_jsonl(
        record.compact(**case_header(case, broker)), Path(args.out or default_dir) / f"{name}.jsonl"
    )
    print(f"{case.name}: {record.report.status} → {path}")
    return EXIT_OK if record.report.status == case.expect.status else EXIT_FAILED
