"""`django-integrator eval real [--only a,b] [--broker embedded|redis] [--out DIR]`: the real-project eval.

Exit 0 when every project met everything on every broker, 1 otherwise, 2 for a broken case file or a
missing snapshot (the message names the `fetch` to run).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from agent.evals.real import BROKERS, evaluate, row_ok
from agent.evals.real_cases import RealCaseError, all_real_cases
from agent.evals.real_report import markdown, write_real_report
from agent.resources import EVALS_DIR


def add_parser(sub: argparse._SubParsersAction) -> None:
    real = sub.add_parser("real", help="integrate the public projects of evals/real/ and check the result")
    real.add_argument("--only", help="comma-separated project names (default: every evals/real/*.toml)")
    real.add_argument(
        "--broker", action="append", choices=sorted(BROKERS), help="repeatable (default: embedded and redis)"
    )
    real.add_argument("--out", help="report folder (default: evals/reports/<timestamp>)")


def run(args: argparse.Namespace, argv: list[str]) -> int:
    names = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
    cases = all_real_cases(names)
    snapshots = [f"fetch github:{c.repo}" for c in cases if not c.snapshot().is_dir()]
    if snapshots:
        raise RealCaseError(
            f"no snapshot for {len(snapshots)} project(s); bring them onto this machine with the fetch tool first: "
            + "; ".join(snapshots)
        )
    brokers = args.broker or ["embedded", "redis"]
    started, clock = time.strftime("%Y-%m-%d %H:%M:%S"), time.monotonic()
    out = Path(args.out) if args.out else EVALS_DIR / "reports" / time.strftime("%Y%m%d-%H%M%S")
    (out / "logs").mkdir(parents=True, exist_ok=True)
    rows = []
    for case in cases:
        print(f"{case.name} ({case.repo}@{case.commit[:12]}) …", file=sys.stderr, flush=True)
        for row in evaluate(case, brokers, out / "logs" / f"{case.name}.log"):
            rows.append(row)
            print(
                f"  {row.get('broker')}: {row.get('status')} {row.get('error') or ''}",
                file=sys.stderr,
                flush=True,
            )
    meta = {
        "started": started,
        "command": "django-integrator " + shlex.join(argv),
        "wall_s": round(time.monotonic() - clock, 1),
    }
    json_path, md_path = write_real_report(rows, out, meta)
    print(markdown(rows, meta), end="")
    print(f"\nReport: {md_path} and {json_path}")
    return 0 if rows and all(row_ok(r) for r in rows) else 1
