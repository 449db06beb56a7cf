"""Eval cases: one TOML file per case in `evals/cases/` — a fixture recipe, run flags, the expected outcome.

```toml
name = "startproject"
description = "django-admin startproject mysite + startapp polls with models"
recipe = "startproject"                    # key of agent.evals.layouts.LAYOUTS
brokers = ["embedded", "redis", "rabbitmq"] # default: all three; embedded = no server
args = []                                   # extra `run` flags, e.g. ["--backend", "redis", "--beat"];
                                            # {project} stands for the fixture's root
[expect]
status = "passed"
failed_items = []                           # checklist keys expected to fail (empty = 11/11)
second_run_changes = 0                      # files the second run may change
changed_files = []                          # optional: exact set of files the first run changes
```

The runner stays generic: a case names its recipe, and the recipe builds whatever layout it stands for.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from agent.config import RunOptions
from agent.evals.layouts import LAYOUTS, release_fixture
from agent.resources import EVALS_DIR
from tools.django_celery.interpreter import find_interpreter

CASES_DIR = EVALS_DIR / "cases"
Broker = Literal["embedded", "redis", "rabbitmq"]
BROKER_URLS: dict[str, str | None] = {
    "embedded": None,  # the embedded filesystem:// broker, no server
    "redis": "redis://127.0.0.1:6379/0",
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//",
}


class CaseError(ValueError):
    """A case file is missing or malformed; the message names the file and the problem."""


class Expectation(BaseModel):
    status: str = "passed"
    failed_items: list[str] = Field(default_factory=list)
    second_run_changes: int = 0
    changed_files: list[str] | None = None


class Case(BaseModel):
    name: str
    description: str = ""
    recipe: str
    brokers: list[Broker] = Field(default_factory=lambda: ["embedded", "redis", "rabbitmq"])
    args: list[str] = Field(default_factory=list)
    expect: Expectation = Field(default_factory=Expectation)

    def build(self, dest: Path) -> Path:
        """Build the case's fixture into the empty folder `dest`; returns the project root to integrate."""
        return LAYOUTS[self.recipe](dest)

    def options(
        self,
        project: Path,
        broker: str | None = None,
        extra_args: list[str] | None = None,
        interactive: bool = False,
    ) -> RunOptions:
        """RunOptions exactly as `django-integrator run PROJECT --yes ARGS…` would make them.

        The project runs on this interpreter (like the demo) unless the case passes `--python` or the
        project has its own virtualenv (found as `run` finds it); the
        documentation comes from the bundled references (`--no-network`) so runs are reproducible.
        """
        from agent.cli import _options, build_parser  # the CLI's own flag parsing, so the two never differ

        args = [arg.replace("{project}", str(project)) for arg in self.args]
        argv = ["run", str(project), "--yes", "--no-network", *args, *(extra_args or [])]
        options = _options(build_parser().parse_args(argv), project, interactive)
        if options.python is None and find_interpreter(project).last_resort:  # a project venv is its own
            options.python = sys.executable
        if broker is not None:
            options.broker_url = BROKER_URLS[broker]
        return options


_TEMPLATES: dict[str, tuple[Path, Path]] = {}  # case name -> (built template, project root inside it)


def build_fixture(case: Case, dest: Path) -> Path:
    """The case's fixture in `dest`: the recipe runs once per process, later builds copy its result."""
    if case.name not in _TEMPLATES:
        holder = Path(tempfile.mkdtemp(prefix=f"django-integrator-{case.name}-"))
        atexit.register(shutil.rmtree, holder, True)
        root = case.build(holder / "fixture")
        atexit.register(release_fixture, root)  # runs before the rmtree above (atexit is last in, first out)
        _TEMPLATES[case.name] = (holder / "fixture", root.relative_to(holder / "fixture"))
    template, project = _TEMPLATES[case.name]
    shutil.copytree(template, dest, symlinks=True)
    return dest / project


def load_case(source: str | Path) -> Case:
    """A case by name (`evals/cases/<name>.toml`) or by path."""
    path = Path(source)
    if not path.suffix:
        path = CASES_DIR / f"{source}.toml"
    if not path.is_file():
        known = ", ".join(p.stem for p in sorted(CASES_DIR.glob("*.toml")))
        raise CaseError(f"no eval case {source!r} (known: {known or 'none'}; files live in {CASES_DIR})")
    try:
        case = Case.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise CaseError(f"{path}: {exc}") from exc
    if case.recipe not in LAYOUTS:
        raise CaseError(f"{path}: recipe {case.recipe!r} is not in LAYOUTS ({', '.join(sorted(LAYOUTS))})")
    return case


def all_cases(names: list[str] | None = None) -> list[Case]:
    """Every case in `evals/cases/`, or the named ones (in the order given)."""
    if names:
        return [load_case(name) for name in names]
    return [load_case(path) for path in sorted(CASES_DIR.glob("*.toml"))]
