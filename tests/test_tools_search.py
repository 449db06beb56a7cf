"""Glob and Grep on a real startproject, with the folders no search should enter planted in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tool_support import make_ctx
from tools import search

JUNK_DIRS = [".git", "venv/lib/python3.11/site-packages/pkg", "node_modules/pkg", "polls/__pycache__"]


@pytest.fixture
def project(startproject: Path) -> Path:
    """The startproject plus a virtualenv, .git, node_modules and __pycache__ that all contain matches."""
    for folder in JUNK_DIRS:
        (startproject / folder).mkdir(parents=True, exist_ok=True)
        (startproject / folder / "settings_junk.py").write_text("SECRET_KEY = 'junk'\n")
    (startproject / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (startproject / "polls" / "image.png").write_bytes(b"\x89PNG\x00\x00SECRET_KEY")
    return startproject


def tools(project: Path, tmp_path: Path, **options):
    glob, grep = search.build(make_ctx(project, tmp_path, **options))
    return glob, grep


def test_glob_matches_at_any_depth_sorted_and_skips_junk(project: Path, tmp_path: Path) -> None:
    glob, _ = tools(project, tmp_path)
    assert glob.invoke({"pattern": "**/settings*.py"}) == "mysite/settings.py"
    assert glob.invoke({"pattern": "*.py"}) == "manage.py"
    assert glob.invoke({"pattern": "*/apps.py"}) == "polls/apps.py"
    models = glob.invoke({"pattern": "**/*.{py,png}", "path": "polls"}).splitlines()
    assert models == sorted(models) and "polls/models.py" in models and "polls/image.png" in models
    assert "polls/migrations/0001_initial.py" in models
    assert (
        glob.invoke({"pattern": "migrations/0001_*.py", "path": "polls"})
        == "polls/migrations/0001_initial.py"
    )
    assert glob.invoke({"pattern": "**/*.toml"}) == "No files match '**/*.toml'."
    everything = glob.invoke({"pattern": "**"})
    assert "junk" not in everything and "pyvenv.cfg" not in everything


def test_glob_caps_results_and_refuses_escapes(project: Path, tmp_path: Path) -> None:
    for index in range(search.MAX_GLOB_RESULTS + 5):
        (project / "many").mkdir(exist_ok=True)
        (project / "many" / f"f{index:04}.txt").write_text("")
    glob, _ = tools(project, tmp_path)
    capped = glob.invoke({"pattern": "many/*.txt"}).splitlines()
    assert len(capped) == search.MAX_GLOB_RESULTS + 1 and capped[-1].startswith("... 5 more")
    assert glob.invoke({"pattern": "*", "path": ".."}).startswith("Error:")
    assert glob.invoke({"pattern": "*", "path": "manage.py"}).startswith("Error:")


def test_grep_output_modes(project: Path, tmp_path: Path) -> None:
    _, grep = tools(project, tmp_path)
    settings = (project / "mysite" / "settings.py").read_text().splitlines()
    line_no = next(i for i, line in enumerate(settings, 1) if line.startswith("SECRET_KEY"))

    assert grep.invoke({"pattern": r"^SECRET_KEY"}) == "mysite/settings.py"
    content = grep.invoke({"pattern": r"^SECRET_KEY", "output_mode": "content"})
    assert content == f"mysite/settings.py:{line_no}:{settings[line_no - 1]}"
    with_context = grep.invoke(
        {"pattern": r"^SECRET_KEY", "output_mode": "content", "context": 1}
    ).splitlines()
    assert with_context == [
        f"mysite/settings.py-{line_no - 1}-{settings[line_no - 2]}",
        f"mysite/settings.py:{line_no}:{settings[line_no - 1]}",
        f"mysite/settings.py-{line_no + 1}-{settings[line_no]}",
    ]
    count = grep.invoke({"pattern": "import", "glob": "*.py", "output_mode": "count"})
    assert f"manage.py:{(project / 'manage.py').read_text().count('import')}" in count.splitlines()


def test_grep_filters_case_and_errors(project: Path, tmp_path: Path) -> None:
    _, grep = tools(project, tmp_path)
    assert grep.invoke({"pattern": "secret_key"}) == "No matches for 'secret_key'."
    assert grep.invoke({"pattern": "secret_key", "case_insensitive": True}) == "mysite/settings.py"
    expected = sorted(
        p.relative_to(project).as_posix()
        for p in (project / "polls").rglob("*.py")
        if "__pycache__" not in p.parts and "models" in p.read_text()
    )
    assert "polls/migrations/0001_initial.py" in expected and "polls/models.py" in expected
    assert grep.invoke({"pattern": "models", "glob": "polls/**/*.py"}).splitlines() == expected
    assert grep.invoke({"pattern": "class", "path": "polls/models.py"}) == "polls/models.py"
    assert grep.invoke({"pattern": "Question", "path": "polls", "glob": "models.py"}) == "polls/models.py"
    broken = grep.invoke({"pattern": "def (unclosed"})
    assert broken.startswith("Error: invalid regular expression") and "missing )" in broken
    assert grep.invoke({"pattern": "x", "path": "../"}).startswith("Error:")


def test_grep_head_limit_and_separators(project: Path, tmp_path: Path) -> None:
    (project / "many.txt").write_text("".join(f"hit {i}\nmiss\nmiss\nmiss\n" for i in range(10)))
    _, grep = tools(project, tmp_path)
    limited = grep.invoke({"pattern": "hit", "path": "many.txt", "output_mode": "content", "head_limit": 3})
    assert limited.splitlines()[:3] == ["many.txt:1:hit 0", "many.txt:5:hit 1", "many.txt:9:hit 2"]
    assert limited.splitlines()[3].startswith("... 7 more")
    grouped = grep.invoke(
        {"pattern": "hit [01]$", "path": "many.txt", "output_mode": "content", "context": 1}
    )
    assert grouped.splitlines() == [
        "many.txt:1:hit 0",
        "many.txt-2-miss",
        "--",
        "many.txt-4-miss",
        "many.txt:5:hit 1",
        "many.txt-6-miss",
    ]


def test_glob_regex_translation() -> None:
    regex = search.glob_regex("**/test_*.{py,txt}")
    assert regex.fullmatch("test_a.py") and regex.fullmatch("a/b/test_a.txt")
    assert not regex.fullmatch("a/test_a.md") and not regex.fullmatch("a/xtest_a.py")
    assert search.glob_regex("[!a]?.py").fullmatch("bc.py") and not search.glob_regex("[!a]?.py").fullmatch(
        "ac.py"
    )
    assert not search.glob_regex("*.py").fullmatch("a/b.py")
