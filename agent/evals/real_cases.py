"""Real-project eval cases: public Django projects pinned to a commit, rebuilt from the fetched snapshot.

One TOML file per project in `evals/real/`:

```toml
name = "locallibrary"
repo = "mdn/django-locallibrary-tutorial"       # owner/name on GitHub
commit = "3dbedbed216386e068723f5d3fefeae63bcfe16d"
path = "."                                      # what `django-integrator run` is given, from the repo root
python = "3.11"                                 # the interpreter its venv is built from (python3.X)
django = "5.1"                                  # the Django version its requirements pin (checked after install)
install = ["pip install -r requirements.txt"]   # run in the rebuilt tree with its venv first on PATH
prepare = ["cp local.template.py local.py"]     # optional: the developer's one-time setup (its README/CI),
                                                # shell commands run before the baseline commit, no venv
env = { DJANGO_SECRET_KEY = "dev-placeholder" } # placeholders only: what importing its settings needs
database = "locallibrary"                       # optional: a fresh PostgreSQL database (127.0.0.1:5432)
test_command = "python manage.py test"          # its own suite, from `test_cwd`
test_cwd = "."
expected_tests = 31                             # tests its suite passes at that commit, unchanged
celery = false                                  # does it already use Celery?
features = ["tutorial"]
notes = "..."
```

We never commit their code and never download it: the `fetch` tool puts a bare git directory at
`<mirror>/<owner>+<name>/repo` (`$DJANGO_INTEGRATOR_MIRROR`, default `/work/.mirror`), and `rebuild`
extracts the pinned commit from there with `git archive`, then makes it a git repository of its own so
`git status` shows exactly what a run changed and `reset` puts it back.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, field_validator

from agent.resources import EVALS_DIR

REAL_DIR = EVALS_DIR / "real"
_GIT_ID = [
    "-c",
    "user.name=django-integrator eval",
    "-c",
    "user.email=eval@localhost",
    "-c",
    "commit.gpgsign=false",
]


class RealCaseError(ValueError):
    """A case file, its snapshot or its commit is missing or malformed; the message says how to fix it."""


class RealCase(BaseModel):
    name: str
    repo: str
    commit: str
    path: str = "."
    python: str = "3.11"
    django: str = ""
    install: list[str] = Field(min_length=1)
    prepare: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    database: str | None = None
    test_command: str
    test_cwd: str = "."
    expected_tests: int
    celery: bool = False
    features: list[str] = Field(default_factory=list)
    run_args: list[str] = Field(default_factory=list)
    notes: str = ""

    @field_validator("commit")
    @classmethod
    def _full_hash(cls, value: str) -> str:
        if len(value) != 40 or any(c not in "0123456789abcdef" for c in value):
            raise ValueError(f"commit must be a full 40-digit lowercase hash, not {value!r}")
        return value

    @field_validator("repo")
    @classmethod
    def _owner_name(cls, value: str) -> str:
        if value.count("/") != 1 or not all(value.split("/")):
            raise ValueError(f"repo must be owner/name, not {value!r}")
        return value

    def snapshot(self) -> Path:
        """The bare git directory the `fetch` tool made for this repository."""
        root = Path(os.environ.get("DJANGO_INTEGRATOR_MIRROR", "/work/.mirror"))
        return root / self.repo.replace("/", "+") / "repo"


def load_real_case(source: str | Path) -> RealCase:
    """A case by name (`evals/real/<name>.toml`) or by path."""
    path = Path(source)
    if not path.suffix:
        path = REAL_DIR / f"{source}.toml"
    if not path.is_file():
        known = ", ".join(p.stem for p in sorted(REAL_DIR.glob("*.toml")))
        raise RealCaseError(
            f"no real-project case {source!r} (known: {known or 'none'}; files live in {REAL_DIR})"
        )
    try:
        return RealCase.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise RealCaseError(f"{path}: {exc}") from exc


def all_real_cases(names: list[str] | None = None) -> list[RealCase]:
    if names:
        return [load_real_case(name) for name in names]
    return [load_real_case(path) for path in sorted(REAL_DIR.glob("*.toml"))]


def git(tree: Path, *args: str) -> str:
    done = subprocess.run(["git", *_GIT_ID, *args], cwd=tree, capture_output=True, text=True)
    if done.returncode:
        raise RealCaseError(f"git {' '.join(args)} failed in {tree}: {done.stderr.strip()}")
    return done.stdout


def rebuild(case: RealCase, dest: Path) -> Path:
    """Extract the pinned commit into the empty folder `dest` and commit it there; returns `dest`.

    Every extracted file was tracked upstream, so `add --force` keeps the ones the project's own
    .gitignore would hide (a committed `.env`, say): the baseline is exactly the commit. The case's
    `prepare` commands (a generated secret-key module its CI writes, say) run before that commit, so the
    baseline is the working copy a developer has after the project's own setup, and `reset` keeps it.
    """
    snapshot = case.snapshot()
    if not snapshot.is_dir():
        raise RealCaseError(
            f"{case.name}: no snapshot of {case.repo} at {snapshot}; bring it onto this machine with the "
            f"fetch tool (fetch github:{case.repo}) and run again — this eval never downloads code itself"
        )
    known = subprocess.run(
        ["git", "--git-dir", str(snapshot), "cat-file", "-e", f"{case.commit}^{{commit}}"],
        capture_output=True,
    )
    if known.returncode:
        raise RealCaseError(
            f"{case.name}: commit {case.commit} is not in the snapshot {snapshot}; fetch github:{case.repo} "
            "again, or pin a commit it has (git --git-dir … log)"
        )
    dest.mkdir(parents=True, exist_ok=False)
    archive = subprocess.Popen(
        ["git", "--git-dir", str(snapshot), "archive", "--format=tar", case.commit], stdout=subprocess.PIPE
    )
    untar = subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout, capture_output=True)
    if archive.wait() or untar.returncode:
        raise RealCaseError(f"{case.name}: extracting {case.commit} failed: {untar.stderr.decode().strip()}")
    for command in case.prepare:
        done = subprocess.run(command, shell=True, cwd=dest, capture_output=True, text=True)
        if done.returncode:
            raise RealCaseError(f"{case.name}: prepare step failed: {command}: {done.stderr.strip()}")
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "--all", "--force")
    git(dest, "commit", "-q", "--no-verify", "-m", f"{case.repo}@{case.commit}")
    return dest


def changed_paths(tree: Path) -> list[str]:
    """What differs from the pinned commit, as git sees it (ignored files included)."""
    out = git(tree, "status", "--porcelain", "--untracked-files=all", "--ignored")
    return sorted(line[3:].strip('"') for line in out.splitlines() if line)


def reset(tree: Path) -> None:
    """Put the tree back to the pinned commit: every change undone, every new file removed."""
    git(tree, "reset", "-q", "--hard")
    git(tree, "clean", "-q", "-d", "-x", "--force", "--force")


def manifest(tree: Path) -> dict[str, str]:
    """sha256 of every file outside .git: compared before and after a run to prove it changed nothing."""
    hashes = {}
    for path in sorted(tree.rglob("*")):
        rel = path.relative_to(tree)
        if rel.parts[0] == ".git" or not path.is_file() or path.is_symlink():
            continue
        hashes[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def remove_tree(tree: Path) -> None:
    shutil.rmtree(tree, ignore_errors=True)
