"""The settings rules of the hygiene check, and the `Rule` every hygiene rule reports through.

A rule broken by what this tool wrote (or by a setting it should have written and did not) fails. A rule
broken by the project's own code is "reported" and does not fail: the agent does not override a user's
choice without consent, and a pre-existing quirk is no reason to undo the whole integration. That holds
for a password too: one this tool wrote fails; one the project had (RabbitMQ's `guest:guest` in an
`env(..., default=...)`) is reported with file:line, since removing it changes the project's defaults.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Literal

from tools.django_celery.authorship import Authorship
from tools.django_celery.backend_text import backend_description, own_backend
from tools.django_celery.codemods.app_analysis import celery_module_path
from tools.django_celery.codemods.env_urls import CONSENT_FLAG
from tools.django_celery.codemods.secret_scan import URL_PASSWORD, is_placeholder
from tools.django_celery.codemods.settings_chain import Assignment, SettingsChain
from tools.django_celery.codemods.source import Reader
from tools.django_celery.codemods.url_sources import URL_SETTINGS, url_sources
from tools.django_celery.facts import Decisions, ProjectFacts
from tools.django_celery.old_setting_names import NAMESPACED_TO_OLD, OLD_TO_NAMESPACED

Status = Literal["pass", "fail", "reported"]
MARKS = {"pass": "✓", "fail": "✗", "reported": "✗ (reported, not changed)"}


@dataclass
class Rule:
    title: str
    status: Status = "pass"
    details: list[str] = field(default_factory=list)

    def problem(self, detail: str, ours: bool) -> None:
        """A breach: a failure when this tool wrote it (or failed to write it), else only reported."""
        self.details.append(detail)
        if ours:
            self.status = "fail"
        elif self.status == "pass":
            self.status = "reported"

    def line(self) -> str:
        return f"{MARKS[self.status]} {self.title}: {'; '.join(self.details) or 'nothing found'}"


def number(code: str) -> float | None:
    """The value of a constant arithmetic expression (`25 * 60`), None for anything else."""

    def value(node: ast.expr) -> float:
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int | float)
            and not isinstance(node.value, bool)
        ):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
            left, right = value(node.left), value(node.right)
            ops = {ast.Add: left + right, ast.Sub: left - right, ast.Mult: left * right}
            return ops.get(type(node.op), left / right if right else float("inf"))
        raise ValueError(code)

    try:
        return value(ast.parse(code.strip(), mode="eval").body)
    except (ValueError, SyntaxError):
        return None


def literal(assignment: Assignment) -> object:
    try:
        return ast.literal_eval(assignment.code)
    except (ValueError, SyntaxError):
        return None


class SettingsRules:
    """The settings rules over the settings the project really loads."""

    def __init__(
        self, facts: ProjectFacts, decisions: Decisions, chain: SettingsChain, wrote: Authorship
    ) -> None:
        self.facts, self.decisions, self.chain, self.wrote = facts, decisions, chain, wrote

    def last(self, name: str) -> Assignment | None:
        """The assignment that takes effect: the new name's, else a deprecated name's (Celery 5 reads it)."""
        found = self.chain.assignments(name) or [
            a for old in NAMESPACED_TO_OLD.get(name, []) for a in self.chain.assignments(old)
        ]
        return found[-1] if found else None

    def new_names(self) -> Rule:
        rule = Rule("current CELERY_ setting names only")
        for assignment in (a for f in self.chain.files for a in f.assignments if a.name in OLD_TO_NAMESPACED):
            consented = self.decisions.rename_settings
            why = "" if consented else " (still works in Celery 5, removed in 6; renaming needs consent)"
            rule.problem(
                f"{assignment.where}: {assignment.name} -> {OLD_TO_NAMESPACED[assignment.name]}{why}",
                consented,
            )
        if not rule.details:
            rule.details.append(f"no deprecated name in {', '.join(f.source.rel for f in self.chain.files)}")
        return rule

    def no_password(self, reader: Reader) -> Rule:
        """Broker and backend settings (CELERY_*/BROKER_*) and the Celery app module hold no password."""
        rule = Rule("no broker/backend password in code")

        def has_password(text: str) -> bool:
            return any(not is_placeholder(m.group(1)) for m in URL_PASSWORD.finditer(text))

        for assignment in (a for f in self.chain.files for a in f.assignments):
            if not assignment.name.startswith(("CELERY_", "BROKER_")):
                continue
            value = literal(assignment)
            literal_password = "PASSWORD" in assignment.name and isinstance(value, str) and value
            if has_password(assignment.code) or (literal_password and not is_placeholder(str(value))):
                rule.problem(
                    f"{assignment.where}: {assignment.name} holds a password; read it from the environment "
                    "with no password in the default (the real URL goes in .env; --fix-url-passwords removes it)",
                    self.decisions.fix_url_passwords or self.wrote.wrote(assignment.where),
                )
        module = celery_module_path(self.facts)
        for number, text in enumerate((reader(module) or "").splitlines(), start=1):
            if has_password(text):
                rule.problem(
                    f"{module}:{number}: a password inside a URL; read it from the environment",
                    self.wrote.wrote(f"{module}:{number}"),
                )
        if not rule.details:
            files = [*dict.fromkeys(f.source.rel for f in self.chain.files), module]
            rule.details.append(
                f"none in the CELERY_/BROKER_ settings of {', '.join(files[:-1])} or in {module}"
            )
        return rule

    def urls_from_environment(self) -> Rule:
        """Broker and backend URLs come from the environment (or the project's own configuration layer); a
        URL written in the code is reported with file:line, a failure only when this tool wrote it or the
        user consented to reading it from the environment (--env-urls) and it is still written there."""
        rule = Rule("broker/backend URLs from the environment")
        for name in URL_SETTINGS:
            for source in url_sources(self.chain, name):
                where, setting = source.assignment.where, source.assignment.name
                if source.is_literal_url:
                    rule.problem(
                        f"{where}: {setting} = {source.assignment.code} is written in the code; read it from "
                        f"{name} with this value as the default ({CONSENT_FLAG})",
                        self.decisions.env_urls or self.wrote.wrote(where),
                    )
                elif source.kind == "environment":
                    names = (
                        ", ".join(dict.fromkeys(read.variable for read in source.reads)) or "the environment"
                    )
                    rule.details.append(f"{where}: {setting} read from {names}")
                elif source.kind == "computed":
                    rule.details.append(
                        f"{where}: {setting} = {source.assignment.code} (the project's own code)"
                    )
        if not rule.details:
            rule.details.append("no broker or backend URL in the settings")
        return rule

    def timezone(self) -> Rule:
        rule = Rule("CELERY_TIMEZONE consistent with TIME_ZONE / USE_TZ")
        found = self.last("CELERY_TIMEZONE")
        if found is None:
            rule.problem(
                f"CELERY_TIMEZONE is not set (Celery would use UTC; TIME_ZONE is {self.facts.time_zone})",
                True,
            )
        elif found.code == "TIME_ZONE" or literal(found) == self.facts.time_zone:
            rule.details.append(
                f"{found.where}: {found.name} = {found.code} ({self.facts.time_zone}), USE_TZ = {self.facts.use_tz}"
            )
        else:
            rule.problem(
                f"{found.where}: {found.name} = {found.code} but TIME_ZONE is {self.facts.time_zone}",
                self.wrote.wrote(found.where),
            )
        aware = self.last("DJANGO_CELERY_BEAT_TZ_AWARE")
        if self.decisions.beat and not self.facts.use_tz and (aware is None or literal(aware) is not False):
            rule.problem(
                "USE_TZ = False with django-celery-beat needs DJANGO_CELERY_BEAT_TZ_AWARE = False", False
            )
        return rule

    def eager_off(self) -> Rule:
        rule = Rule("task_always_eager off outside tests")
        for name in ("CELERY_TASK_ALWAYS_EAGER", "CELERY_ALWAYS_EAGER"):
            for assignment in self.chain.assignments(name):
                if literal(assignment) is True:
                    rule.problem(
                        f"{assignment.where}: {name} = True in settings the project runs with (tasks run inline, "
                        "none reaches a worker; --fix-eager turns it off)",
                        self.wrote.wrote(assignment.where),
                    )
                else:
                    rule.details.append(f"{assignment.where}: {name} = {assignment.code}")
        if not rule.details:
            rule.details.append("not set in the settings (off); tests turn it on with override_settings")
        return rule

    def json_only(self) -> Rule:
        rule = Rule("JSON serialization only")
        accept = self.last("CELERY_ACCEPT_CONTENT")
        value = literal(accept) if accept else ["json"]
        if not isinstance(value, list | tuple | set) or set(value) != {"json"}:
            rule.problem(
                f"{accept.where if accept else 'settings'}: CELERY_ACCEPT_CONTENT = {accept.code if accept else '?'}",
                bool(accept and self.wrote.wrote(accept.where)),
            )
        else:
            rule.details.append(
                f"{accept.where}: {accept.name} = {accept.code}"
                if accept
                else "Celery's default accept_content (json)"
            )
        for name in ("CELERY_TASK_SERIALIZER", "CELERY_RESULT_SERIALIZER"):
            found = self.last(name)
            if found is not None and literal(found) != "json":
                rule.problem(f"{found.where}: {name} = {found.code}", self.wrote.wrote(found.where))
        return rule

    def time_limits(self) -> tuple[Rule, float | None]:
        rule = Rule("soft time limit below the hard one")
        soft, hard = self.last("CELERY_TASK_SOFT_TIME_LIMIT"), self.last("CELERY_TASK_TIME_LIMIT")
        soft_s, hard_s = (number(a.code) if a else None for a in (soft, hard))
        if soft is None or hard is None:
            missing = [
                n
                for n, a in (("CELERY_TASK_SOFT_TIME_LIMIT", soft), ("CELERY_TASK_TIME_LIMIT", hard))
                if a is None
            ]
            rule.problem(
                f"{', '.join(missing)} not set: tasks without their own limits can run forever", True
            )
        elif soft_s is None or hard_s is None or soft_s >= hard_s:
            rule.problem(
                f"{soft.where}: soft {soft.code} is not below {hard.where}: hard {hard.code}",
                self.wrote.wrote(soft.where) or self.wrote.wrote(hard.where),
            )
        else:
            rule.details.append(f"{soft.where}: soft {soft_s:g} s < {hard.where}: hard {hard_s:g} s")
        return rule, hard_s

    def prefetch(self) -> Rule:
        rule = Rule("prefetch multiplier 1 for time-limited tasks")
        found = self.last("CELERY_WORKER_PREFETCH_MULTIPLIER")
        if found is None:
            rule.problem("CELERY_WORKER_PREFETCH_MULTIPLIER not set (Celery prefetches 4 per process)", True)
        elif literal(found) != 1:
            rule.problem(
                f"{found.where}: {found.name} = {found.code}",
                self.wrote.wrote(found.where),
            )
        else:
            rule.details.append(f"{found.where}: {found.name} = 1")
        return rule

    def results_expire(self) -> Rule:
        rule = Rule("results expire")
        found = self.last("CELERY_RESULT_EXPIRES")
        kept = own_backend(self.chain, self.decisions.result_backend) is not None
        if self.decisions.result_backend == "none" and not kept:
            rule.details.append("no result backend: nothing is stored")
            return rule
        seconds = number(found.code) if found else None
        if found is None and kept:  # nothing of ours stores results: the project's own backend, as it was
            described = backend_description(self.chain, self.decisions.result_backend)
            rule.details.append(f"{described}: Celery's default result_expires (1 day) applies")
        elif found is None:
            rule.problem("CELERY_RESULT_EXPIRES not set", True)
        elif seconds is None or seconds <= 0:
            rule.problem(
                f"{found.where}: {found.name} = {found.code} never expires",
                self.wrote.wrote(found.where),
            )
        else:
            cleanup = (
                ""
                if self.decisions.result_backend == "redis" or kept
                else (
                    "; django-celery-results rows are deleted by celery.backend_cleanup, which beat runs daily"
                    + ("" if self.decisions.beat else " (no beat here: schedule it, e.g. from cron)")
                )
            )
            rule.details.append(f"{found.where}: {found.name} = {found.code} ({seconds:g} s){cleanup}")
        return rule
