"""`django-integrator audit`: the gates and hygiene rules on a project as it is, with no write at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.audit import manifest
from agent.cli import main
from agent.evals.layouts import LAYOUTS
from tools.django_celery.process_files import beat_scheduler_on_command_line


@pytest.mark.live
def test_audit_of_a_project_with_celery_passes_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = LAYOUTS["tasks_app"](tmp_path / "project")
    before = manifest(project)
    code = main(["audit", str(project), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, [c for c in report["checklist"] if not c["passed"]]
    assert [c["number"] for c in report["checklist"]] == list(range(2, 12))
    assert report["celery_app"] == "myproj/tasks/celery.py" and report["changed_files"] == []
    password = next(h for h in report["hygiene"] if h["title"] == "no broker/backend password in code")
    assert password["status"] == "reported"
    assert "config/settings/celery.py:5: CELERY_BROKER_URL holds a password" in password["details"][0]
    assert manifest(project) == before
    assert main(["audit", str(project), "--strict"]) == 1  # the reported findings fail in strict mode
    assert "FAILED" in capsys.readouterr().out
    assert manifest(project) == before


@pytest.mark.live
def test_audit_reports_a_literal_broker_url_of_the_project_without_failing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same finding a run reports: item 9 passes with it (file:line), the hygiene rule reports it."""
    project = LAYOUTS["existing_full"](tmp_path / "project")
    settings = project / "mysite" / "settings.py"
    text = settings.read_text()
    read = 'os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0")'
    settings.write_text(text.replace(read, '"redis://localhost:6379/0"'))
    before = manifest(project)
    code = main(["audit", str(project), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, [c for c in report["checklist"] if not c["passed"]]
    item9 = next(c for c in report["checklist"] if c["number"] == 9)
    assert "REPORTED mysite/settings.py:" in item9["evidence"] and "--env-urls" in item9["evidence"]
    rule = next(h for h in report["hygiene"] if h["title"] == "broker/backend URLs from the environment")
    assert rule["status"] == "reported" and rule["details"][0].startswith("mysite/settings.py:")
    assert main(["audit", str(project), "--strict"]) == 1
    assert manifest(project) == before


@pytest.mark.live
def test_audit_after_a_run_agrees_that_the_projects_own_result_backend_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """config_layer (as pretalx): the run keeps the project's config.get(...) backend; the audit decides the
    same from the settings, so items 7 and 8 need no django_celery_results and name that backend."""
    project = LAYOUTS["config_layer"](tmp_path / "project")
    assert main(["run", str(project), "--yes", "--no-network"]) == 0
    capsys.readouterr()
    assert main(["audit", str(project), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    item8 = next(c for c in report["checklist"] if c["number"] == 8)
    own = 'the project\'s own result backend, config.get("celery", "backend") (kept)'
    assert own in item8["evidence"], item8["evidence"]
    expire = next(h for h in report["hygiene"] if h["title"] == "results expire")
    assert expire["status"] == "pass" and expire["details"][0].startswith(own)


def test_audit_of_a_project_without_celery_fails_with_the_missing_items(
    startproject: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = manifest(startproject)
    assert main(["audit", str(startproject)]) == 1
    out = capsys.readouterr().out
    assert "✗  2. celery.py with Django settings autodiscovery" in out
    assert "not checked: the project has no Celery app" in out
    assert out.rstrip().endswith("FAILED")
    assert manifest(startproject) == before


def test_audit_of_a_folder_that_is_not_a_project_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", str(tmp_path)]) == 2
    assert "No manage.py under" in capsys.readouterr().err


def test_beat_scheduler_given_on_the_command_line_is_found(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_text(
        "web: gunicorn config.wsgi\nbeat: celery -A proj.tasks beat -l info "
        "--scheduler django_celery_beat.schedulers:DatabaseScheduler\n"
    )
    found = beat_scheduler_on_command_line(tmp_path)
    assert found == "Procfile:2: beat runs with --scheduler django_celery_beat.schedulers:DatabaseScheduler"
    (tmp_path / "Procfile").write_text("worker: celery -A proj worker -l info\n")
    assert beat_scheduler_on_command_line(tmp_path) is None
