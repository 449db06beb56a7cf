"""The CELERY_* settings: one commented block after the file's last setting, never a setting twice.

Which settings exist is decided by `SettingsChain` over the file and what it star-imports. URLs are read
from the environment the way the file already does it (django-environ `env(...)`, python-decouple
`config(...)`, else `os.environ.get(...)`), with development defaults that hold no credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import libcst as cst

from tools.django_celery.backend_text import backend_kind
from tools.django_celery.codemods.code_lines import call
from tools.django_celery.codemods.cst_tools import assigned_names, ensure_import_os, insert_statements
from tools.django_celery.codemods.results_cache import results_cache_alias
from tools.django_celery.codemods.settings_chain import (
    Assignment,
    SettingsChain,
    celery_file_chain,
    project_chain,
)
from tools.django_celery.codemods.source import PythonFile
from tools.django_celery.codemods.workspace import ProjectEdits
from tools.django_celery.facts import Decisions, ProjectFacts, ResultBackend
from tools.django_celery.old_setting_names import NAMESPACED_TO_OLD, OLD_TO_NAMESPACED

DEFAULT_BROKER_URL = "redis://localhost:6379/0"
DEFAULT_REDIS_RESULTS_URL = "redis://localhost:6379/1"
DOCS_URL = "https://docs.celeryq.dev/en/stable/django/first-steps-with-django.html"


@dataclass
class Setting:
    name: str
    code: str  # the right-hand side
    comment: str | None = None

    def line(self) -> str:
        return f"{self.name} = {self.code}" + (f"  # {self.comment}" if self.comment else "")

    def lines(self, limit: int) -> list[str]:
        """The setting within `limit` columns: the comment moves above it, a long call is wrapped."""
        if len(self.line()) <= limit:
            return [self.line()]
        comment = [f"# {self.comment}"] if self.comment else []
        assignment = f"{self.name} = {self.code}"
        value = cst.parse_expression(self.code)
        if len(assignment) <= limit or not isinstance(value, cst.Call) or "\n" in self.code:
            return [*comment, assignment]
        code = cst.Module(body=[]).code_for_node
        arguments = [code(arg).rstrip(", ") for arg in value.args]
        return [*comment, *call(f"{self.name} = {code(value.func)}", arguments, 0, limit)]


def without_credentials(url: str) -> tuple[str, bool]:
    """`url` with any user:password removed, and whether it had credentials."""
    parts = urlsplit(url)
    if not parts.username and not parts.password:
        return url, False
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc)), True


def broker_default(decisions: Decisions) -> str:
    return without_credentials(decisions.broker_url)[0] if decisions.broker_url else DEFAULT_BROKER_URL


def core_settings(facts: ProjectFacts, decisions: Decisions, chain: SettingsChain) -> list[Setting]:
    """What /celery:setup puts in settings (the result backend is `backend_settings`)."""
    env = chain.env_reader()
    time_zone = "TIME_ZONE" if chain.is_set("TIME_ZONE") else f'"{facts.time_zone}"'
    settings = [
        Setting("CELERY_BROKER_URL", env.call("CELERY_BROKER_URL", broker_default(decisions))),
        Setting("CELERY_TIMEZONE", time_zone),
        Setting("CELERY_TASK_SERIALIZER", '"json"'),
        Setting("CELERY_RESULT_SERIALIZER", '"json"'),
        Setting("CELERY_ACCEPT_CONTENT", '["json"]'),
        Setting("CELERY_TASK_TIME_LIMIT", "30 * 60", "seconds; the worker kills the task after this"),
        Setting("CELERY_TASK_SOFT_TIME_LIMIT", "25 * 60", "raises SoftTimeLimitExceeded in the task first"),
        Setting("CELERY_WORKER_PREFETCH_MULTIPLIER", "1", "fair dispatch: no queueing behind long tasks"),
        Setting("CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP", "True"),
    ]
    if decisions.beat:
        settings.append(Setting("CELERY_BEAT_SCHEDULER", '"django_celery_beat.schedulers:DatabaseScheduler"'))
    return settings


def backend_settings(backend: ResultBackend, chain: SettingsChain) -> list[Setting]:
    """The result-backend settings of /celery:add-backend (and of /celery:setup --backend)."""
    expires = Setting("CELERY_RESULT_EXPIRES", "60 * 60 * 24 * 7", "seconds; older results are deleted")
    if backend == "django-db":
        return [
            Setting("CELERY_RESULT_BACKEND", '"django-db"'),
            Setting("CELERY_RESULT_EXTENDED", "True", "also store task name, args and worker"),
            expires,
        ]
    if backend == "django-cache":
        return [
            Setting("CELERY_RESULT_BACKEND", '"django-cache"'),
            Setting(
                "CELERY_CACHE_BACKEND",
                f'"{results_cache_alias(chain)}"',
                "the CACHES entry for results, shared by all processes",
            ),
            expires,
        ]
    if backend == "redis":
        url = chain.env_reader().call("CELERY_RESULT_BACKEND", DEFAULT_REDIS_RESULTS_URL)
        return [Setting("CELERY_RESULT_BACKEND", url), expires]
    return [Setting("CELERY_TASK_IGNORE_RESULT", "True", "no result backend: results are not stored")]


def kept_backend(chain: SettingsChain, decisions: Decisions) -> Assignment | None:
    """The project's own CELERY_RESULT_BACKEND when it is none of ours (`config.get("celery", "backend")`
    of pretalx's configuration layer, an `rpc://` or `db+postgresql://` URL) and nobody asked for another:
    that is the project's choice, kept as it is — never rewritten, never joined by django-celery-results."""
    if decisions.sources.get("result_backend") in ("flag", "asked"):
        return None
    existing = chain.assignments("CELERY_RESULT_BACKEND")
    if not existing or backend_kind(existing[-1], chain) is not None:
        return None
    return existing[-1]


def _insertion_index(module: cst.Module) -> int:
    """Just after the last top-level statement that sets an UPPER_CASE name (the end when there is none)."""
    last = -1
    for index, statement in enumerate(module.body):
        if isinstance(statement, cst.SimpleStatementLine) and any(
            name.isupper() for small in statement.body for name in assigned_names(small)
        ):
            last = index
    return last + 1 if last >= 0 else len(module.body)


def ensure_settings_block(
    edits: ProjectEdits,
    facts: ProjectFacts,
    wanted: list[Setting],
    header: str,
    line_length: int | None = None,
) -> list[str]:
    """Append the settings the file (with what it imports) does not set yet; returns their names."""
    rel = facts.celery_settings_file
    chain = celery_file_chain(facts, edits.read)
    missing = [s for s in wanted if not chain.is_set(s.name)]
    if not missing:
        edits.note(rel)
        return []
    comments = [f"# {header}", f"# See {DOCS_URL}"]
    # Settings files are wrapped only for a line length the project enforces (Django's own settings.py
    # already has lines over ruff's default, and ruff's default rules do not include E501).
    lines = [line for s in missing for line in (s.lines(line_length) if line_length else [s.line()])]
    code = "\n".join([*comments, *lines]) + "\n"
    module = PythonFile.parse(rel, edits.read(rel) or "").module
    at = _insertion_index(module)
    module = insert_statements(module, at, code, blank_before=at > 0, blank_after=True)
    if any("os." in s.code for s in missing):
        module = ensure_import_os(module)
    names = [s.name for s in missing]
    edits.write(rel, module.code, "added " + ", ".join(names))
    return names


class _Rename(cst.CSTTransformer):
    """Rename setting names (plain names only: never an attribute like `settings.X` or a keyword)."""

    def __init__(self, renames: dict[str, str]) -> None:
        self.renames = renames

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        return updated.with_changes(value=self.renames.get(updated.value, updated.value))

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.Attribute:
        return updated.with_changes(attr=original.attr)

    def leave_Arg(self, original: cst.Arg, updated: cst.Arg) -> cst.Arg:
        return updated.with_changes(keyword=original.keyword)


def report_old_style_settings(edits: ProjectEdits, facts: ProjectFacts) -> None:
    """Without consent to rename: say where each deprecated name is and what it should be called."""
    chain = project_chain(facts, edits.read)
    already = chain.names()
    for assignment in (a for f in chain.files for a in f.assignments if a.name in OLD_TO_NAMESPACED):
        new = OLD_TO_NAMESPACED[assignment.name]
        shadowed = f" {new} is also set and wins, so this line has no effect." if new in already else ""
        edits.warn(
            f"{assignment.where}: {assignment.name} is a deprecated name (it still works in Celery 5, not in "
            f"6); its current name is {new}.{shadowed} Not renamed: that needs consent (--rename-settings)."
        )


def shadowing_old_names(settings: list[Setting], chain: SettingsChain, edits: ProjectEdits) -> list[Setting]:
    """The settings minus those whose deprecated name the project still uses: adding the new name would
    silently override the user's value (the new name wins), so it is left to renaming, with consent."""
    kept = []
    for setting in settings:
        olds = [a for old in NAMESPACED_TO_OLD.get(setting.name, []) for a in chain.assignments(old)]
        if olds:
            edits.warn(
                f"{olds[-1].where}: {olds[-1].name} already configures what {setting.name} would; "
                f"{setting.name} was not added (it would override it)."
            )
        else:
            kept.append(setting)
    return kept


def rename_old_style_settings(edits: ProjectEdits, facts: ProjectFacts) -> None:
    """Rename deprecated names (CELERY_ALWAYS_EAGER, BROKER_URL) to their CELERY_ names (user's consent given).

    Behaviour is unchanged: Celery 5 already reads the old name when the new one is not set.
    """
    chain = project_chain(facts, edits.read)
    already = chain.names()
    for settings_file in chain.files:
        renames: dict[str, str] = {}
        for assignment in settings_file.assignments:
            new = OLD_TO_NAMESPACED.get(assignment.name)
            if new is None or assignment.name in renames:
                continue
            if new in already:
                edits.warn(
                    f"{assignment.where}: {assignment.name} is deprecated and {new} is also set, which wins; "
                    f"delete {assignment.name} (it has no effect)."
                )
                continue
            renames[assignment.name] = new
            edits.warn(
                f"{assignment.where}: renamed the deprecated {assignment.name} to {new} (same effect in "
                f"Celery 5, and still read by Celery 6); update any settings.{assignment.name} in your code."
            )
        if renames:
            rel = settings_file.source.rel
            module = settings_file.source.module.visit(_Rename(renames))
            detail = "renamed " + ", ".join(f"{old} -> {new}" for old, new in renames.items())
            edits.write(rel, module.code, detail)


def switch_result_backend(edits: ProjectEdits, facts: ProjectFacts, backend: ResultBackend) -> None:
    """Point an existing CELERY_RESULT_BACKEND at `backend` (used by /celery:add-backend only)."""
    chain = celery_file_chain(facts, edits.read)
    existing = chain.assignments("CELERY_RESULT_BACKEND")
    if not existing or backend_kind(existing[-1], chain) == backend:
        return
    current = existing[-1]
    if backend == "none":
        edits.warn(
            f"{current.where}: CELERY_RESULT_BACKEND = {current.code} is kept; with "
            "CELERY_TASK_IGNORE_RESULT = True tasks no longer store results. Remove it if nothing reads them."
        )
        return
    wanted = next(s for s in backend_settings(backend, chain) if s.name == "CELERY_RESULT_BACKEND")
    module = current.file.module.deep_replace(current.value, cst.parse_expression(wanted.code))  # type: ignore[arg-type]
    if "os." in wanted.code:
        module = ensure_import_os(module)  # type: ignore[arg-type]
    edits.write(current.file.rel, module.code, f"CELERY_RESULT_BACKEND: {current.code} -> {wanted.code}")
    edits.warn(f"{current.where}: CELERY_RESULT_BACKEND was {current.code}; now {wanted.code}.")
