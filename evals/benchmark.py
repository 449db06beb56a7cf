"""Benchmark: the agent's whole integration against the floor, the bare verification commands.

    python evals/benchmark.py [--pairs 5] [--out evals/reports/<time>] [--eval-cases a,b,c]

Each pair runs, on the same machine one right after the other, A: `django-integrator run --yes` on a fresh
copy of startproject mysite + startapp polls (offline policy, embedded broker, no network), then its
second, no-op run on the result; B: the floor (evals/floor.py) on a fresh copy of an already-integrated
project: `manage.py check`, `migrate`, a worker until ready, `inspect registered` and one task round trip,
the worker stopped. The report gives agent/floor per pair and the median, wall and CPU (of the process
and every child it reaped), the agent's phase times (from its transcript), the floor's step times,
`--help` start-up, peak RSS, the no-op second run against the first (and whether it took the verified
no-op fast path) and, with --eval-cases, `eval run --jobs 1` and `--jobs 2` throughput, and the load
average over the run. Our own bytecode is compiled first (`compile_our_bytecode`). Speed is measured here,
never asserted by tests.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.demo import make_sample_project
from evals.floor import STEPS, run_floor

AGENT = str(Path(sys.executable).with_name("django-integrator"))
OUR_PACKAGES = ("agent", "tools", "evals")
PHASES = ("discovery", "analysis", "planning", "implementation", "verification")
TASK = "polls.tasks.count_questions"


def peak_rss_sampler(pid: int, peaks: dict[str, int]) -> threading.Thread:
    """Poll the agent's own high-water mark (VmHWM) until it exits: ru_maxrss covers children too."""

    def sample() -> None:
        status = Path(f"/proc/{pid}/status")
        while True:
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks["agent"] = max(peaks.get("agent", 0), int(line.split()[1]))
            except (OSError, ValueError):
                return
            time.sleep(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    return thread


def measured(args: list[str], env: dict[str, str]) -> dict:
    """Run `args`; wall, CPU and max RSS of it and its reaped children (wait4), its stdout."""
    started = time.perf_counter()
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    peaks: dict[str, int] = {}
    sampler = peak_rss_sampler(process.pid, peaks)
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    sampler.join(timeout=1)
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "maxrss_tree_mib": usage.ru_maxrss / 1024,
        "rss_agent_mib": peaks.get("agent", 0) / 1024,
        "returncode": process.returncode,
        "stdout": out.decode(),
    }


def phase_times(transcript: Path) -> dict[str, float]:
    """Wall time of each phase, from its first `phase` event to its last `gate` event."""
    started: dict[str, float] = {}
    ended: dict[str, float] = {}
    header = None
    for line in transcript.open():
        event = json.loads(line)
        ts = float(event["ts"])
        if event["type"] == "header":
            header = ts
        elif event["type"] == "phase":
            started.setdefault(event["phase"], ts)
        elif event["type"] == "gate":
            ended[event["phase"]] = ts
    times = {phase: ended[phase] - started[phase] for phase in PHASES if phase in ended}
    if header is not None:
        times["transcript span"] = ts - header
    return times


def agent_run(project: Path, env: dict[str, str]) -> dict:
    first = measured([AGENT, "run", str(project), "--yes", "--json"], env)
    report = json.loads(first.pop("stdout"))
    if report["status"] != "passed":
        raise SystemExit(f"agent run did not pass ({report['status']}); transcript {report['transcript']}")
    first["phases"] = phase_times(Path(report["transcript"]))
    # Before the transcript's header (imports, the run's context) and after its report (exit).
    first["phases"]["start-up and exit"] = first["wall"] - first["phases"].pop("transcript span")
    second = measured([AGENT, "run", str(project), "--yes", "--json"], env)
    second_report = json.loads(second.pop("stdout"))
    if second_report["status"] != "passed" or second_report["changed_files"]:
        raise SystemExit(f"second run was not a passing no-op: {second_report['changed_files']}")
    first["second_wall"] = second["wall"]
    first["second_fast_path"] = second_report.get("reused_from") is not None
    return first


def compile_our_bytecode() -> None:
    """Compile our packages' bytecode before timing anything, as `pip install` does for a regular install and
    as the first run does for an editable one, unless PYTHONDONTWRITEBYTECODE is set (it is on the shared
    machine): without it every run compiles our own modules from source again, 0.2 s of CPU. The project's
    processes are not affected: they never write bytecode into the user's project."""
    root = Path(__file__).resolve().parent.parent
    for package in OUR_PACKAGES:
        compileall.compile_dir(root / package, quiet=1)


def help_startup(env: dict[str, str], runs: int = 5) -> float:
    return statistics.median(measured([AGENT, "--help"], env)["wall"] for _ in range(runs))


def eval_throughput(cases: str, jobs: int, out: Path, env: dict[str, str]) -> dict:
    count = len(cases.split(","))
    run = measured(
        [
            AGENT,
            "eval",
            "run",
            "--cases",
            cases,
            "--brokers",
            "embedded",
            "--jobs",
            str(jobs),
            "--out",
            str(out / f"eval-jobs{jobs}"),
        ],
        env,
    )
    return {"jobs": jobs, "cases": count, "wall": run["wall"], "cases_per_min": 60 * count / run["wall"]}


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def render(result: dict) -> str:
    pairs = result["pairs"]
    lines = [
        "# django-integrator benchmark: agent against the floor",
        "",
        f"{result['when']} · {len(pairs)} interleaved pairs · Python {sys.version.split()[0]} · "
        f"{os.cpu_count()} CPUs · startproject + polls, offline policy, embedded broker, SQLite · "
        f"load average (1 min, before the run and after each pair) {min(result['load']):.2f}–"
        f"{max(result['load']):.2f}, median {statistics.median(result['load']):.2f}",
        "",
        "| pair | agent wall | floor wall | ratio wall | agent CPU | floor CPU | ratio CPU |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for index, pair in enumerate(pairs, 1):
        a, f = pair["agent"], pair["floor"]
        lines.append(
            f"| {index} | {a['wall']:.2f} s | {f['wall']:.2f} s | {a['wall'] / f['wall']:.2f}× "
            f"| {a['cpu']:.2f} s | {f['cpu']:.2f} s | {a['cpu'] / f['cpu']:.2f}× |"
        )
    s = result["summary"]
    lines += [
        f"| **median** | {s['agent_wall']:.2f} s | {s['floor_wall']:.2f} s | **{s['ratio_wall']:.2f}×** "
        f"| {s['agent_cpu']:.2f} s | {s['floor_cpu']:.2f} s | **{s['ratio_cpu']:.2f}×** |",
        "",
        "| measure | median |",
        "| --- | ---: |",
        f"| `django-integrator --help` | {s['help_s']:.2f} s |",
        f"| no-op second run / first run (wall) | {s['second_ratio']:.2f}× ({s['second_wall']:.2f} s; "
        f"fast path in {s['second_fast_paths']}/{len(pairs)} pairs) |",
        f"| peak RSS, agent process alone (VmHWM) | {s['rss_agent_mib']:.0f} MiB |",
        f"| peak RSS, largest of agent and its children (wait4) | {s['maxrss_tree_mib']:.0f} MiB |",
    ]
    for phase, value in s["phases"].items():
        lines.append(f"| agent phase: {phase} | {value:.2f} s |")
    for step, value in s["floor_steps"].items():
        lines.append(f"| floor step: {step} | {value:.2f} s |")
    for entry in result.get("eval", []):
        lines.append(
            f"| `eval run --jobs {entry['jobs']}` ({entry['cases']} cases) | "
            f"{entry['cases_per_min']:.1f} cases/min ({entry['wall']:.1f} s) |"
        )
    lines += [
        "",
        "Agent phase times run from the phase's start to its gate's verdict (gates included). CPU is user+system",
        "of the process and every child it waited for. The floor's inspect includes its client's interpreter",
        "and `django.setup()` start-up; its stop is a `control shutdown` until the worker has exited, the",
        "fastest clean stop (Ctrl-C/SIGTERM take 6.8 s on this broker). The agent kills its embedded-broker",
        "worker's process group once the round trip is done (the broker is a temp folder, removed next). The",
        "second run is the no-op run on the first run's result: the verified no-op fast path (no graph; the",
        "static gates and item 8 checked again, the first run's live evidence reused).",
        "django-integrator's own bytecode was compiled first, as a regular `pip install` leaves it (an",
        "editable install writes it on its first run unless PYTHONDONTWRITEBYTECODE is set).",
    ]
    return "\n".join(lines) + "\n"


def summarise(pairs: list[dict], help_s: float) -> dict:
    agents = [p["agent"] for p in pairs]
    floors = [p["floor"] for p in pairs]
    phases = {
        name: median([a["phases"][name] for a in agents if name in a["phases"]])
        for name in (*PHASES, "start-up and exit")
    }
    return {
        "agent_wall": median([a["wall"] for a in agents]),
        "floor_wall": median([f["wall"] for f in floors]),
        "ratio_wall": median([a["wall"] / f["wall"] for a, f in zip(agents, floors, strict=True)]),
        "agent_cpu": median([a["cpu"] for a in agents]),
        "floor_cpu": median([f["cpu"] for f in floors]),
        "ratio_cpu": median([a["cpu"] / f["cpu"] for a, f in zip(agents, floors, strict=True)]),
        "second_wall": median([a["second_wall"] for a in agents]),
        "second_ratio": median([a["second_wall"] / a["wall"] for a in agents]),
        "second_fast_paths": sum(a["second_fast_path"] for a in agents),
        "rss_agent_mib": max(a["rss_agent_mib"] for a in agents),
        "maxrss_tree_mib": max(a["maxrss_tree_mib"] for a in agents),
        "help_s": help_s,
        "phases": phases,
        "floor_steps": {step: median([f["steps"][step] for f in floors]) for step in STEPS},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="default evals/reports/<time>")
    parser.add_argument(
        "--eval-cases", default="", help="also time `eval run` on these cases, --jobs 1 and 2"
    )
    args = parser.parse_args(argv)
    when = time.strftime("%Y%m%d-%H%M%S")
    out = args.out or Path(__file__).resolve().parent / "reports" / when
    out.mkdir(parents=True, exist_ok=True)
    compile_our_bytecode()
    # the 1-minute load average before the run, after each pair and after the eval runs
    result: dict = {"when": when, "pairs": [], "load": [os.getloadavg()[0]]}
    with tempfile.TemporaryDirectory(prefix="djint-bench-") as tmp_name:
        tmp = Path(tmp_name)
        env = {**os.environ, "DJANGO_INTEGRATOR_HOME": str(tmp / "state")}
        for name in [k for k in env if k.startswith("CELERY_")]:
            del env[name]
        template = make_sample_project(tmp / "template")
        integrated = tmp / "integrated"
        shutil.copytree(template, integrated)
        agent_run(integrated, env)  # the floor's project: integrated once, not timed
        (integrated / "db.sqlite3").unlink(missing_ok=True)  # migrate from nothing, as the agent's copy does
        for index in range(args.pairs):
            fresh = tmp / f"agent-{index}"
            shutil.copytree(template, fresh)
            agent = agent_run(fresh, env)
            floor_copy = tmp / f"floor-{index}"
            shutil.copytree(integrated, floor_copy)
            floor = run_floor(floor_copy, "mysite", TASK, sys.executable, tmp / f"broker-{index}")
            result["pairs"].append({"agent": agent, "floor": floor})
            result["load"].append(os.getloadavg()[0])
            print(
                f"pair {index + 1}/{args.pairs}: agent {agent['wall']:.2f} s, floor {floor['wall']:.2f} s",
                file=sys.stderr,
            )
        result["summary"] = summarise(result["pairs"], help_startup(env))
        if args.eval_cases:
            result["eval"] = [eval_throughput(args.eval_cases, jobs, out, env) for jobs in (1, 2)]
            result["load"].append(os.getloadavg()[0])
    (out / "bench.json").write_text(json.dumps(result, indent=2))
    report = render(result)
    (out / "bench.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
