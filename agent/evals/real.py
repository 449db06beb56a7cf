"""`django-integrator eval real`: integrate public Django projects as a new user would, and check the result.

Per project (a case in `evals/real/`): rebuild the pinned commit from the fetched snapshot, build its venv
from its own requirements, run its own suite (the count must be the case's), then per broker: a fresh
database, `django-integrator run --yes --install-deps --python <its venv>` exactly as a user types it (a
subprocess, our CLI, its JSON report), the eleven items as the run verified them live, `git status`
beside the report's changed files, a second run that must change no byte, and — after the first broker
— its suite again (every test that passed still passes, plus the ones we added), ruff on the Python
files we wrote, and `django-integrator audit` (it must pass and write nothing). A project that already
uses Celery is audited before any run too, and a third-party linter (celery-audit) reads its Celery
configuration before and after (`real_audit`). A PostgreSQL database is created afresh and migrated with
the project's own migrations first, as its developer's is. A run that does not pass must leave the tree
byte-identical (it is undone). The tree is reset between brokers. Too slow for the pytest suite: it runs
only on demand.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from agent.evals.real_audit import linter_configs, run_audit, run_linter
from agent.evals.real_cases import RealCase, changed_paths, git, manifest, rebuild, remove_tree, reset
from agent.evals.real_env import (
    Suite,
    build_venv,
    case_env,
    django_version,
    drop_database,
    fresh_database,
    migrate_database,
    run_suite,
)
from tools.journal import state_home

BROKERS = {"embedded": None, "redis": "redis://127.0.0.1:6379/0"}
RUN_TIMEOUT_S = 1200
Row = dict[str, Any]


def integrate(case: RealCase, tree: Path, venv: Path, state: Path, broker: str, log: Path) -> dict[str, Any]:
    """One `django-integrator run`, as a subprocess with the project's placeholders in its environment."""
    command = [str(Path(sys.executable).parent / "django-integrator"), "run", str(tree / case.path), "--yes"]
    command += ["--install-deps", "--python", str(venv / "bin" / "python"), "--no-network", "--json"]
    command += [*case.run_args, *(["--broker", BROKERS[broker]] if BROKERS[broker] else [])]
    env = case_env(case, venv) | {"DJANGO_INTEGRATOR_HOME": str(state)}
    env["PATH"] = os.environ.get("PATH", "")  # our tools from our PATH; the project runs on --python
    started = time.monotonic()
    try:
        done = subprocess.run(
            command, cwd=tree, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
        )
        stdout, stderr, code = done.stdout, done.stderr, done.returncode
    except subprocess.TimeoutExpired as exc:
        stdout, stderr, code = "", f"timed out after {RUN_TIMEOUT_S} s: {exc.stderr or ''}", None
    seconds = round(time.monotonic() - started, 1)
    with log.open("a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(command)}\n[exit {code}, {seconds} s]\n{stderr}\n{stdout}\n")
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        tail = (stderr.strip() or stdout.strip()).splitlines()[-3:]
        report = {"status": "error", "error": " / ".join(tail) or f"exit {code}, no report", "checklist": []}
    return {"exit": code, "seconds": seconds, "report": report}


def _items(report: dict[str, Any]) -> dict[str, bool]:
    return {str(c["number"]): bool(c["passed"]) for c in report.get("checklist", [])}


def _delta(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


def _ruff(tree: Path, files: list[str]) -> list[str]:
    if not files:
        return []
    command = [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", *files]
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True)
    return [line for line in done.stdout.splitlines() if line.split(":", 1)[0] in files]


def new_ruff_findings(tree: Path, files: list[str]) -> dict[str, Any]:
    """ruff (the project's own configuration) on the Python files a run changed, minus what it already found.

    A file we only edited is judged against its own pinned version: a project whose settings.py already
    has an unsorted import block is not our finding. Findings are compared by file and rule, not line.
    """
    after = _ruff(tree, files)
    tracked = [f for f in files if git(tree, "ls-files", "--", f).strip()]
    ours = {f: (tree / f).read_bytes() for f in tracked}
    if tracked:
        git(tree, "checkout", "HEAD", "--", *tracked)
    before = _ruff(tree, tracked)
    for name, data in ours.items():
        (tree / name).write_bytes(data)

    def key(line: str) -> tuple[str, str]:
        return line.split(":", 1)[0], line.split(": ", 1)[-1].split(" ", 1)[0]

    new = Counter(map(key, after)) - Counter(map(key, before))
    lines = [line for line in after if new.get(key(line))]
    return {"findings": sum(new.values()), "preexisting": len(before), "output": "\n".join(lines[:20])}


def evaluate_broker(
    case: RealCase, tree: Path, venv: Path, work: Path, broker: str, suite_before: Suite | None, log: Path
) -> Row:
    """One broker: run, second run, (suite and ruff), reset. `suite_before` None: skip the suite after."""
    if case.database:
        fresh_database(case.database)
        migrate_database(case, tree, venv, log)
    pristine = manifest(tree)
    first = integrate(case, tree, venv, work / f"state-{broker}", broker, log)
    report = first["report"]
    row: Row = {"project": case.name, "broker": broker, "status": report.get("status"), "exit": first["exit"]}
    row |= {"error": report.get("error"), "items": _items(report), "wall_s": first["seconds"]}
    # the report names files from the project folder (case.path), git from the tree root
    changed = [os.path.normpath(os.path.join(case.path, f)) for f in report.get("changed_files", [])]
    row |= {"changed_files": changed, "git_status": changed_paths(tree)}
    row["unreported_changes"] = sorted(set(row["git_status"]) - set(row["changed_files"]))
    if row["status"] != "passed":
        row["left_unchanged"] = manifest(tree) == pristine
        row["failed_evidence"] = [
            f"#{c['number']} {c.get('evidence', '')}"[:400]
            for c in report.get("checklist", [])
            if not c["passed"]
        ][:4]
        reset(tree)
        return row
    once = manifest(tree)
    second = integrate(case, tree, venv, work / f"state-{broker}", broker, log)
    row["second_run_status"] = second["report"].get("status")
    row["second_run_changes"] = _delta(once, manifest(tree))
    if suite_before is not None:
        after = run_suite(case, tree, venv, log)
        row["suite_after"] = after.model_dump()
        row["tests_kept"] = (
            after.passed >= suite_before.passed
            and after.failed <= suite_before.failed
            and after.errors <= suite_before.errors
        )
        row["tests_added"] = after.passed - suite_before.passed
        row["ruff"] = new_ruff_findings(tree, [f for f in row["changed_files"] if f.endswith(".py")])
        row["audit_after"] = run_audit(case, tree, venv, work / "state-audit", log)
        row["lint_after"] = run_linter(tree, case.path, linter_configs(row["audit_after"]), log)
    reset(tree)
    return row


def evaluate(case: RealCase, brokers: list[str], log: Path) -> list[Row]:
    """Every broker for one project; a problem before the first run (snapshot, install) is one row."""
    work = state_home() / "real" / case.name
    tree, venv = work / "tree", work / "venv"
    head: Row = {"project": case.name, "repo": case.repo, "commit": case.commit, "features": case.features}
    remove_tree(tree)
    try:
        rebuild(case, tree)
        reused, seconds = build_venv(case, tree, venv, log)
        reset(tree)
        head |= {"venv_reused": reused, "venv_s": round(seconds, 1), "django": django_version(venv)}
        if case.database:
            fresh_database(case.database)
        before = run_suite(case, tree, venv, log)
        reset(tree)
        head |= {"suite_before": before.model_dump(), "expected_tests": case.expected_tests}
        if case.celery:  # the project as its developer has it: our audit, then the third-party linter
            head["audit_before"] = run_audit(case, tree, venv, work / "state-audit", log)
            head["lint_before"] = run_linter(tree, case.path, linter_configs(head["audit_before"]), log)
        rows = []
        for i, broker in enumerate(brokers):
            rows.append(
                head | evaluate_broker(case, tree, venv, work, broker, before if i == 0 else None, log)
            )
        return rows
    except Exception as exc:
        return [head | {"broker": "–", "status": "setup failed", "error": str(exc)}]
    finally:
        if case.database:
            drop_database(case.database)
        remove_tree(tree)


def row_ok(row: Row) -> bool:
    """Everything the issue asks of a project on one broker; an audit writes nothing, and passes after a run."""
    before = row.get("suite_before") or {}
    audit_before, audit_after = row.get("audit_before"), row.get("audit_after")
    return (
        row.get("status") == "passed"
        and len(row.get("items", {})) == 11
        and all(row["items"].values())
        and not row.get("second_run_changes")
        and row.get("tests_kept", True)
        and not (row.get("ruff") or {}).get("findings")
        and before.get("passed") == row.get("expected_tests")
        and not row.get("unreported_changes")
        and (audit_before is None or audit_before.get("unchanged"))
        and (audit_after is None or (audit_after.get("unchanged") and audit_after.get("exit") == 0))
    )
