"""Benchmark: how long an integration takes, phase by phase, and how much memory the agent uses.

    python evals/benchmark.py [--runs 5] [--out evals/reports/benchmark.md]

Each run builds a fresh demo project (startproject + startapp polls), integrates it with the offline
policy on the embedded broker (no network, no server), then runs a second, idempotent integration on the
result. Timings come from the runner's progress events; memory is the peak resident set of this process
(the agent; the user's code runs in child processes, whose ru_maxrss would include the parent's pages at
fork time and so is not reported). The report is markdown with the median, minimum and maximum of every
measure. Speed is measured here, never asserted by tests.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from agent.config import RunOptions
from agent.demo import make_sample_project
from agent.runner import Runner

MEASURES = (
    "build fixture",
    "discovery",
    "analysis",
    "planning",
    "implementation",
    "verification",
    "total run",
    "second run",
    "agent peak RSS MB",
)


class PhaseClock:
    """Progress callback that turns phase/gate events into wall-time per phase (model loop + gate)."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.elapsed: dict[str, float] = {}

    def __call__(self, event: str, data: dict) -> None:
        now = time.perf_counter()
        if event == "phase" and data["phase"] not in self.started:
            self.started[data["phase"]] = now
        elif event == "gate":
            phase = data["phase"]
            self.elapsed[phase] = now - self.started[phase]


def integrate(project: Path, clock: PhaseClock | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    runner = Runner(RunOptions(project=str(project), allow_network=False), progress=clock)
    try:
        outcome = runner.start()
    finally:
        runner.close()
    assert outcome.report is not None
    return time.perf_counter() - started, outcome.report.status


def one_run(workdir: Path) -> dict[str, float]:
    started = time.perf_counter()
    project = make_sample_project(workdir / "mysite")
    sample = {"build fixture": time.perf_counter() - started}
    clock = PhaseClock()
    total, status = integrate(project, clock)
    if status != "passed":
        raise SystemExit(f"benchmark run did not pass ({status}); see the transcript under the state home")
    sample |= clock.elapsed | {"total run": total}
    sample["second run"], _ = integrate(project)
    sample["agent peak RSS MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return sample


def render(samples: list[dict[str, float]], runs: int) -> str:
    unit = {"agent peak RSS MB": "MB"}
    lines = [
        "# django-integrator benchmark",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M')} · {runs} runs · Python {sys.version.split()[0]} · "
        f"{os.cpu_count()} CPUs · offline policy, embedded broker, SQLite, no network",
        "",
        "| measure | median | min | max |",
        "| --- | ---: | ---: | ---: |",
    ]
    for measure in MEASURES:
        values = [s[measure] for s in samples if measure in s]
        suffix = unit.get(measure, "s")
        lines.append(
            f"| {measure} | {statistics.median(values):.2f} {suffix} | {min(values):.2f} {suffix} | "
            f"{max(values):.2f} {suffix} |"
        )
    lines += [
        "",
        "Phase times include the phase's tool calls and its gate; verification includes a real worker start,",
        "the registered-tasks inspection, one task round trip and the worker's shutdown.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("evals/reports/benchmark.md"))
    args = parser.parse_args(argv)
    samples = []
    with tempfile.TemporaryDirectory(prefix="djint-bench-") as tmp:
        os.environ.setdefault("DJANGO_INTEGRATOR_HOME", str(Path(tmp) / "state"))
        for index in range(args.runs):
            samples.append(one_run(Path(tmp) / f"run-{index}"))
            print(f"run {index + 1}/{args.runs}: {samples[-1]['total run']:.2f} s", file=sys.stderr)
    report = render(samples, args.runs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
