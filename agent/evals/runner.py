"""`eval run`: every case × broker on a fresh fixture — run, run again, compare, report.

Per case and broker: build the fixture in a temporary folder, integrate it (the offline policy unless a
model is named), integrate it again (a second run should change nothing), look at the result as its
developer would (the project's own tests, ruff on the changed files), compare with the case's
expectations and its tool results with the case's recorded transcript (drift), and keep the compact
transcript of the first run. Cases run in parallel processes with `jobs` > 1. The runner knows nothing
about layouts: a case names its recipe and its expectations, and that is all it reads.
"""

from __future__ import annotations

import multiprocessing
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agent.evals.cases import BROKER_URLS, Case, build_fixture, load_case
from agent.evals.compact import write_jsonl
from agent.evals.drift import compare_tool_results, tool_results
from agent.evals.recording import TRANSCRIPTS_DIR, case_header, run_case
from agent.evals.user_view import unmet_user_view, user_view
from agent.transcript import read_transcript

OFFLINE_TRANSCRIPTS = TRANSCRIPTS_DIR / "offline"
Row = dict[str, Any]


def recorded_transcript(case: str) -> Path:
    """The committed offline-policy transcript of a case (the reference for drift)."""
    return OFFLINE_TRANSCRIPTS / f"{case}.jsonl"


def broker_unreachable(broker: str) -> str | None:
    """Why a broker's server cannot be used here, or None (the embedded broker needs no server)."""
    url = BROKER_URLS[broker]
    if url is None:
        return None
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=1.0):
            return None
    except OSError as exc:
        return f"no {broker} server at {parts.hostname}:{parts.port} ({exc.strerror or exc})"


def run_one(case_name: str, broker: str, out_dir: str, model: str | None = None, record: bool = False) -> Row:
    """One case on one broker; a plain function of strings so a worker process can run it."""
    case = load_case(case_name)
    row: Row = {"case": case.name, "broker": broker}
    skipped = broker_unreachable(broker)
    if skipped:
        return row | {"status": "skipped", "met": True, "unmet": [], "error": skipped}
    workdir = Path(tempfile.mkdtemp(prefix=f"django-integrator-eval-{case.name}-{broker}-"))
    try:
        return row | _integrate_twice(case, broker, workdir, Path(out_dir), model, record)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _integrate_twice(
    case: Case, broker: str, workdir: Path, out_dir: Path, model: str | None, record: bool
) -> Row:
    project = build_fixture(case, workdir / "project")
    started = time.monotonic()
    first = run_case(case, project, workdir / "state", broker, model)
    wall = time.monotonic() - started
    second = run_case(case, project, workdir / "state", broker, model)
    events = first.compact(**case_header(case, broker))
    kept = write_jsonl(events, out_dir / "transcripts" / f"{case.name}-{broker}.jsonl")
    reference = recorded_transcript(case.name)
    recorded = list(read_transcript(reference)) if model is None and reference.is_file() else []
    # The reference was recorded on one broker; what the tools say legitimately depends on the broker
    # (a RabbitMQ project needs no Redis client), so other brokers are not compared with it.
    recorded_broker = ((recorded[0].get("case") or {}).get("broker") if recorded else None) or case.brokers[0]
    compared = bool(recorded) and broker == recorded_broker
    drift = []
    if compared:
        project_path = (next(iter(recorded), {}).get("options") or {}).get("project")
        drift = compare_tool_results(
            tool_results(recorded, project_path, None),
            tool_results(first.events(), str(project), str(first.home)),
        )
    if record and model is None and broker == case.brokers[0]:
        write_jsonl(events, reference)
    report = first.report
    usage = report.usage
    unmet = _unmet(case, report.status, report.checklist, report.changed_files, second.report.changed_files)
    options = case.options(project)
    view = (
        user_view(project, report.changed_files, options.settings_module, options.env_files)
        if report.status == "passed"
        else None
    )
    unmet += unmet_user_view(view) if view else []
    return {
        "status": report.status,
        "error": report.error,
        "items": {c.key: c.passed for c in report.checklist},
        "numbers": {c.key: c.number for c in report.checklist},
        "met": not unmet,
        "unmet": unmet,
        "model": report.model,
        "model_calls": usage.get("model_calls", 0),
        "prompt_tokens": usage.get("prompt_tokens", 0),
        "completion_tokens": usage.get("completion_tokens", 0),
        "tool_calls": usage.get("tool_calls", 0),
        "wall_s": round(wall, 1),
        "second_run_changes": len(second.report.changed_files),
        "user_view": view,
        "drift": [str(d) for d in drift],
        "reference": str(reference) if compared else None,
        "transcript": str(kept),
    }


def _unmet(
    case: Case, status: str, checklist: list, changed: list[str], changed_again: list[str]
) -> list[str]:
    expect = case.expect
    unmet = []
    if status != expect.status:
        unmet.append(f"status {status}, expected {expect.status}")
    failed = sorted(c.key for c in checklist if not c.passed)
    if failed != sorted(expect.failed_items):
        unmet.append(f"failed items {failed or 'none'}, expected {sorted(expect.failed_items) or 'none'}")
    if len(changed_again) > expect.second_run_changes:
        unmet.append(
            f"the second run changed {len(changed_again)} file(s) ({', '.join(changed_again)}), "
            f"expected at most {expect.second_run_changes}"
        )
    if expect.changed_files is not None and set(changed) != set(expect.changed_files):
        extra, missing = set(changed) - set(expect.changed_files), set(expect.changed_files) - set(changed)
        unmet.append(f"changed files differ: unexpected {sorted(extra)}, not changed {sorted(missing)}")
    return unmet


def run_cases(
    cases: list[Case],
    brokers: list[str] | None,
    out_dir: Path,
    jobs: int = 1,
    model: str | None = None,
    record: bool = False,
    progress: Callable[[Row], None] = lambda row: None,
) -> list[Row]:
    """Every case × its brokers (filtered by `brokers`), in `jobs` processes; rows in case order."""
    work = [(c.name, b) for c in cases for b in c.brokers if brokers is None or b in brokers]
    rows: dict[tuple[str, str], Row] = {}
    if jobs <= 1:
        for name, broker in work:
            rows[name, broker] = run_one(name, broker, str(out_dir), model, record)
            progress(rows[name, broker])
    else:
        context = multiprocessing.get_context("spawn")  # no fork of a process that may hold threads
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {pool.submit(run_one, n, b, str(out_dir), model, record): (n, b) for n, b in work}
            for future in as_completed(futures):
                rows[futures[future]] = future.result()
                progress(rows[futures[future]])
    return [rows[key] for key in work]
