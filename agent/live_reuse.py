"""Live evidence reused on a byte-identical project, so a no-op second run does not start the worker again.

The live checks (items 7, 10, 11 and the queue routes) are what a run spends most of its verification on,
and they prove something about a state of the project, not about the run: a passing run records, under a
key, the checks a live worker passed. The key covers everything a worker's behaviour could depend on: the
content of every project file (the SQLite database and .env included), the interpreter and its installed
distributions, the environment its processes get and the --env-file contents, the decisions (backend,
beat, apps, broker, queues), the run's options, the agent definition and our own code. A later run whose
key is identical reuses those checks, and says so in their evidence; any change (one byte of one file)
gives another key, and the worker runs again. `--reverify` always runs it.

The same record lets a later run skip the graph altogether (`agent.noop_run`): its `noop_key` is computed
the same way from what is known before any phase runs — everything above but the decisions (they follow
from the project's facts, the options and the definition) and the options that only choose how the run
talks to its user or which model it asks (a project already in the verified state needs no model).

Records live in the state home (never in the project), one file per project, the last passing state only.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agent.checklist import CheckResult
from agent.config import RunOptions
from agent.definition_models import AgentDefinition
from agent.plugins import plugin_dirs_for
from agent.transcript import file_sha256
from tools.django_celery.facts import Decisions, ProjectFacts
from tools.django_celery.project_env import base_dir_of, facts_env
from tools.django_celery.tree_digest import env_digest, packages_digest, tree_digest

OUR_CODE = Path(__file__).resolve().parent.parent
OUR_FOLDERS = ("agent", "tools", "prompts", "skills")
# Options that change how a run talks to its user, never what a live worker does on the project.
NOT_IN_KEY = {"interactive", "reverify", "max_gate_tries", "keep_on_failure", "budgets"}
# ...and, for the no-op key, the model and when writes wait for approval: they choose how a run would get
# to the verified state, and the project is in it already.
NOT_IN_NOOP_KEY = NOT_IN_KEY | {"model", "permission_mode"}


class VerifiedLive(BaseModel):
    """The live checks a passing run proved, and on what: `key` digests it all, `tree` is the files part.

    For the no-op fast path it also keeps `noop_key`, the decisions the run made and its item 1 (the
    documentation it consulted)."""

    key: str
    tree: str
    run_id: str
    verified_at: float
    checks: list[CheckResult]
    noop_key: str = ""
    decisions: dict[str, Any] = {}
    docs: CheckResult | None = None


def our_code_digest() -> str:
    return hashlib.sha256("".join(tree_digest(OUR_CODE / name) for name in OUR_FOLDERS).encode()).hexdigest()


def definition_digest(definition: AgentDefinition, options: RunOptions) -> str:
    """The definition file, every file it includes, and the plugin folders that lend it commands and skills."""
    parts = [file_sha256(definition.path), *(file_sha256(path) for path in definition.includes)]
    parts += [
        tree_digest(Path(folder)) for folder in plugin_dirs_for(options.definition, options.agents_dirs)
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _state_parts(facts: ProjectFacts, options: RunOptions, definition: str, leave_out: set[str]) -> dict:
    """What a run's outcome depends on besides its decisions; `tree` is the project's files."""
    return {
        "tree": tree_digest(Path(facts.root).resolve()),
        "interpreter": facts.interpreter,
        "packages": packages_digest(facts.interpreter),
        "environment": env_digest(facts_env(facts), facts.env_files),
        "base_dir": str(base_dir_of(facts)),
        "settings": facts.settings_module,
        "options": options.model_dump(mode="json", exclude=leave_out),
        "definition": definition,
        "ours": our_code_digest(),
    }


def _digest(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def live_key(
    facts: ProjectFacts, decisions: Decisions, options: RunOptions, definition: str
) -> tuple[str, str]:
    """(key, tree digest) of everything the live checks depend on; `definition` is `definition_digest`."""
    parts = _state_parts(facts, options, definition, NOT_IN_KEY)
    parts["decisions"] = decisions.model_dump(mode="json", exclude={"sources"})
    return _digest(parts), parts["tree"]


def noop_key(facts: ProjectFacts, options: RunOptions, definition: str) -> tuple[str, str]:
    """(key, tree digest) a run can compute before its graph: the live key's parts but the decisions, the
    model and the permission mode."""
    parts = _state_parts(facts, options, definition, NOT_IN_NOOP_KEY)
    return _digest(parts), parts["tree"]


def _record_file(home: Path, root: Path) -> Path:
    name = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:32]
    return home / "verified" / f"{name}.json"


def passing_record(home: Path, root: Path) -> VerifiedLive | None:
    """The project's record, when its live checks all passed (else None)."""
    try:
        record = VerifiedLive.model_validate_json(_record_file(home, root).read_text())
    except (OSError, ValueError):
        return None
    return record if all(check.passed for check in record.checks) else None


def reusable(home: Path, root: Path, key: str) -> VerifiedLive | None:
    """The record of a passing run with exactly this key, or None."""
    record = passing_record(home, root)
    return record if record is not None and record.key == key else None


def settle_record(home: Path, root: Path, fresh: VerifiedLive, *, passed: bool, unchanged: bool) -> None:
    """After live checks ran: keep `fresh` when the whole verification passed on a project that did not
    change meanwhile; drop the project's record when the live checks failed (its state is no longer known
    good); otherwise leave it."""
    target = _record_file(home, root)
    if not all(check.passed for check in fresh.checks):
        target.unlink(missing_ok=True)
    elif passed and unchanged:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        partial.write_text(fresh.model_dump_json())
        partial.replace(target)


def reused_checks(record: VerifiedLive) -> list[CheckResult]:
    """The recorded checks, each saying where its evidence comes from."""
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.verified_at))
    source = (
        f"verified live by run {record.run_id} at {when} on an identical tree (digest {record.tree[:12]}…: "
        "files, interpreter and packages, environment, decisions, options, definition and agent code); "
        "--reverify starts the worker again"
    )
    return [check.model_copy(update={"evidence": f"{source}. {check.evidence}"}) for check in record.checks]
