"""PostgreSQL and beat, live: results migrated into the project's server database, a PeriodicTask fired
through beat during verification and every row verification made removed again; the database dropped when
the fixture is released. Also: beat refuses a CELERY_TIMEZONE that disagrees with TIME_ZONE."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from agent.cli import main
from agent.evals.fixture_databases import HOST, USER, databases_of, release_fixture
from agent.evals.layout_states import postgres
from tests.celery_support import context_for
from tools.django_celery.discovery import discover_project
from tools.django_celery.live import verify_live
from tools.django_celery.setup import run_setup

pytestmark = [pytest.mark.live, pytest.mark.services]


def psql(database: str, sql: str) -> str:
    done = subprocess.run(
        ["psql", "-h", HOST, "-U", USER, "-d", database, "-Atc", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_postgres_project_with_beat(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = postgres(tmp_path / "project")
    [database] = databases_of(project)
    try:
        code = main(["run", "--yes", "--json", "--no-network", "--beat", str(project)])
        report = json.loads(capsys.readouterr().out)
        assert code == 0, report.get("error")
        assert [c["passed"] for c in report["checklist"]] == [True] * 11
        assert "db.sqlite3" not in " ".join(report["changed_files"])
        item10 = next(c for c in report["checklist"] if c["key"] == "worker_starts")["evidence"]
        assert "beat (django_celery_beat.schedulers:DatabaseScheduler) sent PeriodicTask" in item10
        assert "the worker ran it" in item10
        migrated = psql(database, "select count(*) from django_migrations where app like 'django_celery_%'")
        assert int(migrated) > 20  # results and beat migrated into PostgreSQL
        leftovers = [
            psql(database, f"select count(*) from {table}")
            for table in ("django_celery_beat_periodictask", "django_celery_beat_intervalschedule")
        ]
        assert leftovers == ["0", "0"]
        assert psql(database, "select count(*) from django_celery_results_taskresult") == "0"
    finally:
        assert release_fixture(project) == [database]
    exists = psql("postgres", f"select count(*) from pg_database where datname = '{database}'")
    assert exists == "0"


def test_beat_refuses_a_celery_timezone_other_than_time_zone(startproject: Path) -> None:
    ctx = context_for(startproject)
    run_setup(ctx, "--beat")
    settings = startproject / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text().replace("CELERY_TIMEZONE = TIME_ZONE", 'CELERY_TIMEZONE = "Asia/Tokyo"')
    )
    facts = discover_project(startproject)
    assert ctx.decisions is not None
    live = verify_live(facts, ctx.decisions)
    item10 = live.check("worker_starts")
    assert not item10.passed
    assert "CELERY_TIMEZONE is 'Asia/Tokyo' but TIME_ZONE is 'UTC'" in item10.evidence
    assert live.check("autodiscovery").passed and not live.leftover_pids
    assert live.beat is not None and not live.beat.leftover_pids
    shutil.rmtree(startproject)
