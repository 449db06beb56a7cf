"""The real-project eval's case files and its rebuild from a snapshot, on a tiny local git repository.

The eval itself (`django-integrator eval real`) takes many minutes per project and is never part of
this suite; what is tested here is everything it stands on: parsing, the snapshot lookup and its error
messages, the rebuild (git archive of the pinned commit into a git repository of its own), what
`git status` reports, the reset, and reading the test counts of both runners.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agent.evals.commands import main as eval_main
from agent.evals.real_cases import (
    REAL_DIR,
    RealCaseError,
    all_real_cases,
    changed_paths,
    load_real_case,
    manifest,
    rebuild,
    reset,
)
from agent.evals.real_env import parse_counts

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", "-c", "commit.gpgsign=false"]


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, str]:
    """A bare snapshot at <mirror>/acme+shop/repo with two commits; returns (mirror, first, second)."""
    work = tmp_path / "upstream"
    (work / "shop").mkdir(parents=True)
    (work / "manage.py").write_text("print('manage')\n")
    (work / "shop" / "settings.py").write_text("DEBUG = True\n")
    (work / ".gitignore").write_text(".env\n")
    (work / ".env").write_text("DJANGO_SECRET_KEY=dev-placeholder\n")  # tracked although ignored
    _git(work, "init", "-q", "-b", "main")
    _git(work, "add", "--all", "--force")
    _git(work, "commit", "-q", "-m", "first")
    first = _git(work, "rev-parse", "HEAD").strip()
    (work / "shop" / "settings.py").write_text("DEBUG = False\n")
    _git(work, "commit", "-q", "-am", "second")
    second = _git(work, "rev-parse", "HEAD").strip()
    root = tmp_path / "mirror"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(root / "acme+shop" / "repo")], check=True)
    monkeypatch.setenv("DJANGO_INTEGRATOR_MIRROR", str(root))
    return root, first, second


def _case(tmp_path: Path, commit: str, repo: str = "acme/shop", **extra: str) -> Path:
    lines = [
        'name = "shop"',
        f'repo = "{repo}"',
        f'commit = "{commit}"',
        'install = ["pip install -r r.txt"]',
    ]
    lines += ['test_command = "python manage.py test"', "expected_tests = 3"]
    lines += [f'{k} = "{v}"' for k, v in extra.items()]
    path = tmp_path / "shop.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_every_committed_case_parses_and_pins_a_full_commit() -> None:
    cases = all_real_cases()
    assert len(cases) >= 8
    assert all(len(c.commit) == 40 and c.install and c.test_command for c in cases)
    assert sum(c.celery for c in cases) >= 3
    assert len({c.name for c in cases}) == len(cases)
    assert {p.stem for p in REAL_DIR.glob("*.toml")} == {c.name for c in cases}


def test_malformed_cases_name_the_file_and_the_problem(tmp_path: Path) -> None:
    with pytest.raises(RealCaseError, match="full 40-digit"):
        load_real_case(_case(tmp_path, "3dbedbed"))
    with pytest.raises(RealCaseError, match="owner/name"):
        load_real_case(_case(tmp_path, "a" * 40, repo="just-a-name"))
    with pytest.raises(RealCaseError, match="no real-project case 'nope'"):
        load_real_case("nope")


def test_rebuild_extracts_the_pinned_commit_into_its_own_clean_repository(mirror, tmp_path: Path) -> None:
    _root, first, _second = mirror
    tree = rebuild(load_real_case(_case(tmp_path, first)), tmp_path / "tree")
    assert (tree / "shop" / "settings.py").read_text() == "DEBUG = True\n"  # the pinned commit, not HEAD
    assert (tree / ".env").is_file()  # tracked upstream, kept although its .gitignore names it
    assert changed_paths(tree) == []
    pristine = manifest(tree)

    (tree / "shop" / "settings.py").write_text("DEBUG = True\nCELERY_BROKER_URL = ''\n")
    (tree / "shop" / "celery.py").write_text("app = None\n")
    (tree / "db.sqlite3").write_bytes(b"x")  # ignored files count too: a run's writes are all reported
    (tree / ".gitignore").write_text(".env\ndb.sqlite3\n")
    assert changed_paths(tree) == [".gitignore", "db.sqlite3", "shop/celery.py", "shop/settings.py"]
    assert manifest(tree) != pristine

    reset(tree)
    assert manifest(tree) == pristine
    assert changed_paths(tree) == []


def test_a_missing_snapshot_or_commit_says_what_to_fetch(mirror, tmp_path: Path, capsys) -> None:
    _root, first, _second = mirror
    with pytest.raises(RealCaseError, match=r"fetch github:other/shop"):
        rebuild(load_real_case(_case(tmp_path, first, repo="other/shop")), tmp_path / "t1")
    assert not (tmp_path / "t1").exists()
    with pytest.raises(RealCaseError, match="is not in the snapshot"):
        rebuild(load_real_case(_case(tmp_path, "0" * 40)), tmp_path / "t2")

    code = eval_main(["real", "--only", str(_case(tmp_path, first, repo="other/shop"))])
    assert code == 2
    assert "fetch github:other/shop" in capsys.readouterr().err


def test_counts_from_manage_py_test_and_pytest() -> None:
    django_ok = "....s\n------\nRan 40 tests in 2.113s\n\nOK (skipped=1)\n"
    assert parse_counts(django_ok).model_dump(include={"ran", "passed", "skipped"}) == {
        "ran": 40,
        "passed": 39,
        "skipped": 1,
    }
    django_bad = "Ran 12 tests in 0.5s\n\nFAILED (failures=2, errors=1, skipped=3)\n"
    suite = parse_counts(django_bad)
    assert (suite.ran, suite.passed, suite.failed, suite.errors, suite.skipped) == (12, 6, 2, 1, 3)
    pytest_out = (
        "..F\n=========== 1 failed, 120 passed, 4 skipped, 2 warnings, 1 error in 9.81s ===========\n"
    )
    suite = parse_counts(pytest_out)
    assert (suite.ran, suite.passed, suite.failed, suite.errors, suite.skipped) == (126, 120, 1, 1, 4)
    assert parse_counts("118 passed in 3.2s").passed == 118
    assert parse_counts("ImportError: no module named django").ran == 0


def test_prepare_commands_are_part_of_the_baseline(mirror, tmp_path: Path) -> None:
    _root, first, _second = mirror
    path = _case(tmp_path, first)
    path.write_text(path.read_text() + "prepare = [\"echo 'KEY = 1' > shop/secret.py\"]\n")
    tree = rebuild(load_real_case(path), tmp_path / "tree")
    assert (tree / "shop" / "secret.py").read_text() == "KEY = 1\n"
    assert changed_paths(tree) == []
    (tree / "shop" / "secret.py").unlink()
    reset(tree)
    assert (tree / "shop" / "secret.py").is_file()
