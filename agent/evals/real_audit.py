"""Audits in the real-project eval: ours (`django-integrator audit`) and a third-party Celery linter.

`audit` runs on the project as its developer has it (for a project that already uses Celery) and again
after our first run: its JSON report, its exit code, and a manifest of the tree taken around it by the eval
itself (the audit must write nothing). The third-party linter is `celery-audit` from PyPI (a static,
deterministic audit of a Celery configuration that never imports the code); it is given the settings
files in the order they take effect and the Celery app module, as our audit names them, with the CELERY
settings namespace. When it is not installed the rows say so instead of guessing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from agent.evals.real_cases import RealCase, manifest
from agent.evals.real_env import case_env

AUDIT_TIMEOUT_S = 600
LINTER = "celery-audit"
SEVERITIES = ("critical", "high", "medium", "low", "unknown")


def run_audit(case: RealCase, tree: Path, venv: Path, state: Path, log: Path) -> dict[str, Any]:
    """`django-integrator audit --json` on the project as it is now; what it found and whether it wrote."""
    command = [str(Path(sys.executable).parent / "django-integrator"), "audit", str(tree / case.path)]
    command += ["--python", str(venv / "bin" / "python"), "--json"]
    env = case_env(case, venv) | {"DJANGO_INTEGRATOR_HOME": str(state), "PATH": os.environ.get("PATH", "")}
    before = manifest(tree)
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=AUDIT_TIMEOUT_S)
    unchanged = manifest(tree) == before
    with log.open("a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(command)}\n[exit {done.returncode}]\n{done.stderr}\n{done.stdout}\n")
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-2:]
        return {"exit": done.returncode, "unchanged": unchanged, "error": " / ".join(tail)}
    checklist = report["checklist"]
    return {
        "exit": done.returncode,
        "unchanged": unchanged,
        "items_passed": sum(c["passed"] for c in checklist),
        "items": len(checklist),
        "failed": [f"#{c['number']} {c['evidence'][:300]}" for c in checklist if not c["passed"]],
        "findings": [
            f"{h['title']}: {'; '.join(h['details'])[:300]}"
            for h in report["hygiene"]
            if h["status"] != "pass"
        ],
        "settings_files": report["settings_files"],
        "celery_app": report["celery_app"],
        "elapsed_s": report["elapsed_s"],
    }


def linter_path() -> str | None:
    beside = Path(sys.executable).parent / LINTER
    return str(beside) if beside.is_file() else shutil.which(LINTER)


def run_linter(tree: Path, project: str, config_files: list[str], log: Path) -> dict[str, Any] | None:
    """celery-audit on the project folder with its settings (in effect order) and app module; None when it
    is not installed. Counts per severity and the critical/high/medium findings with file:line."""
    linter = linter_path()
    if linter is None or not config_files:
        return None
    root = tree / project
    command = [linter, ".", "--settings-namespace", "CELERY", "--format", "json", "--fail-on", "critical"]
    for config in config_files:
        command += ["--config", config]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=AUDIT_TIMEOUT_S)
    with log.open("a", encoding="utf-8") as out:
        out.write(
            f"$ (cd {project} && {' '.join(command)})\n[exit {done.returncode}]\n{done.stderr}\n{done.stdout}\n"
        )
    try:
        findings = _findings(json.loads(done.stdout))
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        return {"error": f"unreadable output ({exc}): {done.stderr.strip()[-200:]}"}
    counts = {severity: sum(f["severity"] == severity for f in findings) for severity in SEVERITIES}
    serious = [f for f in findings if f["severity"] in ("critical", "high", "medium")]
    return {
        "counts": counts,
        "serious": [f"{f['severity']} {f['rule']} {f['where']}: {f['message']}" for f in serious],
    }


def _findings(output: dict[str, Any]) -> list[dict[str, str]]:
    """celery-audit's JSON findings (`findings`: severity, rule_id, file, line, message) in our shape."""
    return [
        {
            "severity": str(item["severity"]),
            "rule": str(item["rule_id"]),
            "where": f"{item['file']}:{item['line']}",
            "message": str(item["message"])[:200],
        }
        for item in output["findings"]
    ]


def linter_configs(audit: dict[str, Any]) -> list[str]:
    """The files celery-audit reads: settings from the base up (the module imports its bases, so ours lists
    it first), then the Celery app module."""
    files = list(reversed(audit.get("settings_files") or []))
    return files + ([audit["celery_app"]] if audit.get("celery_app") else [])
