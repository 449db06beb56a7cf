"""Eval cases and their recipes: every case loads, every recipe builds a project discovery understands, and
the already-integrated project is integrated without a single change (the full matrix runs in `eval run`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.cli import build_parser, main
from agent.evals.cases import CASES_DIR, load_case
from agent.evals.layouts import LAYOUTS
from agent.evals.runner import run_one
from tests.celery_support import snapshot
from tools.django_celery.discovery import discover_project

RECIPE_FACTS = {
    # recipe -> (manage.py, dependency file -> style, interpreter reason starts with)
    "subfolder": ("backend/manage.py", {"requirements.txt": "requirements"}, None),
    "poetry": ("manage.py", {"pyproject.toml": "poetry"}, "virtualenv .venv/"),
    "pipfile": ("manage.py", {"Pipfile": "pipenv"}, "virtualenv .venv/"),
    "uv": ("manage.py", {"pyproject.toml": "uv"}, "virtualenv .venv/"),
}


def test_every_case_file_loads_and_its_flags_parse() -> None:
    files = sorted(CASES_DIR.glob("*.toml"))
    assert len(files) >= 20
    for file in files:
        case = load_case(file.stem)
        assert case.name == file.stem and case.recipe in LAYOUTS
        assert set(case.brokers) == {"embedded", "redis", "rabbitmq"}
        build_parser().parse_args(["run", "somewhere", "--yes", *case.args])  # exits on a bad flag
    used = {load_case(file.stem).recipe for file in files}
    assert used == set(LAYOUTS), f"recipes without a case: {set(LAYOUTS) - used}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    cache: dict[str, Path] = {}

    def get(recipe: str) -> Path:
        if recipe not in cache:
            cache[recipe] = LAYOUTS[recipe](tmp_path_factory.mktemp(recipe) / "project")
        return cache[recipe]

    return get


@pytest.mark.live
@pytest.mark.parametrize("recipe", sorted(RECIPE_FACTS))
def test_dependency_and_folder_recipes_are_discovered(
    recipe: str, built: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    manage_py, styles, interpreter_reason = RECIPE_FACTS[recipe]
    facts = discover_project(built(recipe))
    assert facts.manage_py == manage_py
    assert facts.dependency_styles == styles
    assert [a.label for a in facts.apps] == ["polls"]
    if interpreter_reason:
        assert facts.interpreter_reason.startswith(interpreter_reason)
        assert facts.interpreter == str(built(recipe) / ".venv" / "bin" / "python")


@pytest.mark.live
def test_half_done_recipes_are_detected(
    built: Callable[[str], Path],
) -> None:
    no_init = discover_project(built("half_no_init"))
    assert no_init.existing.celery_module == "mysite/celery.py" and not no_init.existing.init_loads_app
    assert "CELERY_BROKER_URL" in no_init.existing.celery_settings
    settings_only = discover_project(built("half_settings_only"))
    assert settings_only.existing.celery_module is None
    assert settings_only.existing.celery_settings["CELERY_RESULT_BACKEND"].strip("'\"") == "django-db"


@pytest.mark.live
@pytest.mark.services
def test_an_already_integrated_project_is_verified_and_left_unchanged(
    built: Callable[[str], Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verified on the broker the user's CELERY_BROKER_URL names (RabbitMQ here), not the embedded one."""
    monkeypatch.setenv("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
    project = built("existing_full")
    before = snapshot(project)
    code = main(["run", "--yes", "--json", "--no-network", str(project)])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report.get("error")
    assert [c["passed"] for c in report["checklist"]] == [True] * 11
    assert report["changed_files"] == []
    assert report["decisions"]["sources"]["result_backend"] == "existing"
    worker = next(c for c in report["checklist"] if c["key"] == "worker_starts")["evidence"]
    assert "(broker amqp://guest:**@127.0.0.1:5672//)" in worker
    assert snapshot(project) == before


@pytest.mark.live
@pytest.mark.services
@pytest.mark.parametrize(
    "case",
    [
        "cookiecutter_celery",
        "tasks_app",
        "no_settings_default",
        "env_required",
        "other_queue",
        "config_layer",
    ],
)
def test_layouts_met_in_public_projects_pass_as_eval_cases(case: str, tmp_path: Path) -> None:
    """The failure classes first seen on public projects, run exactly as `eval run` runs a case: 11/11,
    the project's own tests still pass, ruff is clean on what we wrote, and a second run changes nothing."""
    row = run_one(case, "embedded", str(tmp_path / "out"))
    assert row["met"], (row["unmet"], row["error"])
    assert row["second_run_changes"] == 0
