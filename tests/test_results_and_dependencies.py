"""django-cache results in a cache every process shares (and LocMem refused), and the packages check of the
project's own interpreter: what is missing, where, and the exact command — nothing installed without consent."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from agent.config import RunOptions
from agent.runner import Runner
from tests.celery_support import context_for, snapshot
from tests.tool_support import startproject_facts
from tools.django_celery.backend import run_add_backend
from tools.django_celery.dependencies_install import (
    dependencies_check,
    ensure_installed,
    install_refusal,
    missing_requirements,
    needed_requirements,
)
from tools.django_celery.discovery import discover_project
from tools.django_celery.facts import Decisions, ProjectFacts
from tools.django_celery.live import verify_live
from tools.django_celery.setup import run_setup

LOCMEM_CACHES = """
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
"""


@pytest.mark.live
def test_django_cache_results_round_trip_through_a_shared_database_cache(startproject: Path) -> None:
    ctx = context_for(startproject)
    summary = run_setup(ctx, "--backend django-cache")
    assert "added CACHES with a celery_results database cache" in summary
    assert "createcachetable" in summary
    settings = (startproject / "mysite" / "settings.py").read_text()
    assert 'CELERY_CACHE_BACKEND = "celery_results"' in settings
    assert '"LOCATION": "celery_results_cache"' in settings
    after_first = snapshot(startproject)
    again = run_setup(context_for(startproject, "second"), "--backend django-cache")
    assert "Nothing to change" in again and snapshot(startproject) == after_first
    facts = discover_project(startproject)
    live = verify_live(facts, Decisions(task_apps=["polls"], result_backend="django-cache"))
    assert live.passed, [c.evidence for c in live.checks if not c.passed]
    assert live.roundtrip is not None and live.roundtrip.stored_in_backend


@pytest.mark.live
def test_an_existing_per_process_cache_gets_a_shared_entry_and_locmem_is_refused(startproject: Path) -> None:
    settings = startproject / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + LOCMEM_CACHES)
    ctx = context_for(startproject)
    run_setup(ctx, "")
    summary = run_add_backend(ctx, "django-cache")
    assert 'added CACHES["celery_results"]' in summary and "the default cache is per-process" in summary
    text = settings.read_text()
    assert text.index('CACHES["celery_results"] = {') > text.index("CACHES = {")
    text = text.replace('CELERY_CACHE_BACKEND = "celery_results"', 'CELERY_CACHE_BACKEND = "default"')
    settings.write_text(text)
    live = verify_live(
        discover_project(startproject), Decisions(task_apps=["polls"], result_backend="django-cache")
    )
    assert not live.passed and live.roundtrip is None
    assert "lives inside one process" in live.check("worker_starts").evidence


def test_missing_packages_are_named_with_the_interpreter_and_the_pip_command(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True)
    python = str(tmp_path / "venv" / "bin" / "python")
    decisions = Decisions(task_apps=["polls"], beat=True)
    wanted = needed_requirements(decisions)
    assert [r.pep508() for r in wanted] == [
        "celery[redis]>=5.4,<6",
        "django-celery-results>=2.5",
        "django-celery-beat>=2.6",
    ]
    assert missing_requirements(python, wanted) == wanted
    assert missing_requirements(sys.executable, wanted) == []
    facts = discover_project_like(python)
    check = dependencies_check(facts, decisions)
    assert not check.passed and check.number == 0
    assert f"{python} (virtualenv .venv/ in the project) lacks celery[redis]>=5.4,<6" in check.evidence
    assert f"run `{python} -m pip install 'celery[redis]>=5.4,<6'" in check.evidence
    notes = ensure_installed(facts, decisions, "django-db", consent=False)
    assert notes and notes[0].startswith("Not installed (no consent)")
    assert missing_requirements(python, wanted) == wanted  # nothing was installed


def test_consent_never_installs_into_the_agents_own_interpreter_chosen_as_last_resort() -> None:
    facts = discover_project_like(sys.executable, reason="no virtualenv ... last resort")
    assert "agent's own" in (install_refusal(facts) or "")
    explicit = discover_project_like(sys.executable, reason="given with --python")
    assert install_refusal(explicit) is None


def discover_project_like(interpreter: str, reason: str = "virtualenv .venv/ in the project") -> ProjectFacts:
    """ProjectFacts as discovery makes them, for checks that only read the interpreter fields."""
    return startproject_facts(Path("/project")).model_copy(
        update={"interpreter": interpreter, "interpreter_reason": reason}
    )


def django_only_venv(folder: Path) -> Path:
    """A real virtualenv in which only Django (and what it needs) is importable: celery is missing."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    site = next(folder.glob("lib/python*/site-packages"))
    agent_site = Path(sysconfig.get_paths()["purelib"])
    for package in ("django", "asgiref", "sqlparse"):
        (site / package).symlink_to(agent_site / package, target_is_directory=True)
    return folder / "bin" / "python"


@pytest.mark.live
def test_interactive_run_asks_before_installing_and_a_no_stops_at_the_analysis_gate(
    startproject: Path,
) -> None:
    python = django_only_venv(startproject / ".venv")
    before = snapshot(startproject)
    runner = Runner(
        RunOptions(project=str(startproject), interactive=True, allow_network=False, max_gate_tries=1)
    )
    outcome = runner.start()
    asked = []
    while outcome.question is not None:
        asked.append(outcome.question["topic"])
        outcome = runner.answer(
            "no" if outcome.question["topic"] == "install_deps" else outcome.question["default"]
        )
    runner.close()
    assert "install_deps" in asked
    report = outcome.report
    assert report is not None and report.status == "failed"
    check = next(c for c in report.phase_checks["analysis"] if c.key == "dependencies")
    assert not check.passed
    assert f"{python} (virtualenv .venv/ in the project) lacks celery[redis]>=5.4,<6" in check.evidence
    assert f"`{python} -m pip install 'celery[redis]>=5.4,<6' 'django-celery-results>=2.5'`" in check.evidence
    assert report.decisions is not None and report.decisions["install_deps"] is False
    assert missing_requirements(
        str(python), needed_requirements(Decisions(task_apps=[]))
    )  # nothing installed
    assert snapshot(startproject) == before
