"""Where the broker and result-backend URLs of the settings come from, found with libcst.

A URL setting's value is one of: a read of environment variables (which ones: cookiecutter-django's
`CELERY_BROKER_URL = REDIS_URL` with `REDIS_URL = env("REDIS_URL", ...)` reads REDIS_URL, not
CELERY_BROKER_URL), a value written in the code (a literal, a concatenation or f-string of literals, a
name bound only to such values), or something the project's own code computes at run time (pretalx's
`config.get("celery", "broker")`: a configuration layer, no variable to name). One analysis serves item 9
and the hygiene rule (a literal in the user's own code is reported, one this tool wrote fails), the
`--env-urls` codemod (which literals to read from the environment) and `.env.example` (the variables the
settings really read, or a note saying where the value comes from instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import libcst as cst

from tools.django_celery.codemods.cst_tools import call_name, dotted_name, keyword, positional
from tools.django_celery.codemods.settings_chain import OS_ENV_CALLS, Assignment, SettingsChain
from tools.django_celery.old_setting_names import NAMESPACED_TO_OLD

URL_SETTINGS = ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")
SourceKind = Literal["environment", "literal", "computed"]
_MAX_DEPTH = 3  # names followed through other settings (REDIS_URL -> env(...)) at most this deep


@dataclass(frozen=True)
class EnvRead:
    """One environment variable a URL setting reads."""

    variable: str
    default: str | None  # the default written in the code, when it is one (a literal's text)
    whole: bool  # the variable is the whole value, not a part of a concatenation or f-string
    where: str  # "path:line" of the assignment that reads it


@dataclass(frozen=True)
class UrlSource:
    """Where one assignment of a URL setting takes its value from."""

    name: str  # the namespaced setting (CELERY_BROKER_URL), whichever name the assignment uses
    assignment: Assignment
    kind: SourceKind
    reads: tuple[EnvRead, ...] = ()
    literal: str | None = None  # the value written in the code (kind "literal")

    @property
    def is_literal_url(self) -> bool:
        return self.kind == "literal" and "://" in (self.literal or "")


def url_assignments(chain: SettingsChain, name: str) -> list[Assignment]:
    """The assignments of the setting `name`, else of its deprecated names (Celery 5 still reads them)."""
    return chain.assignments(name) or [
        a for old in NAMESPACED_TO_OLD.get(name, []) for a in chain.assignments(old)
    ]


def literal_text(chain: SettingsChain, node: cst.BaseExpression | None, depth: int = 0) -> str | None:
    """The text of a value written in the code (strings, their concatenations, f-strings of literals, a
    setting name bound only to such values); None for anything computed at run time (a call: an env
    reader, a project's own config reader)."""
    if node is None or depth > _MAX_DEPTH:
        return None
    if isinstance(node, cst.SimpleString | cst.ConcatenatedString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.FormattedString):
        texts = [
            part.value
            if isinstance(part, cst.FormattedStringText)
            else literal_text(chain, part.expression, depth + 1)
            for part in node.parts
        ]
        return None if None in texts else "".join(t or "" for t in texts)
    if isinstance(node, cst.BinaryOperation):
        left, right = literal_text(chain, node.left, depth + 1), literal_text(chain, node.right, depth + 1)
        return None if left is None or right is None else left + right
    if isinstance(node, cst.Name):
        bound = [literal_text(chain, a.value, depth + 1) for a in chain.assignments(node.value)]
        return None if not bound or None in bound else "".join(t or "" for t in bound)
    return None


def _argument(call: cst.Call, index: int | None, name: str) -> cst.BaseExpression | None:
    """The argument given as `name=`, else the positional one at `index` (None: keyword only)."""
    found = keyword(call, name) or (positional(call, index) if index is not None else None)
    return found.value if found is not None else None


def env_reads(
    chain: SettingsChain, assignment: Assignment, node: cst.BaseExpression | None, whole: bool, depth: int = 0
) -> list[EnvRead]:
    """The environment variables `node` reads, directly or through the settings it names."""
    if node is None or depth > _MAX_DEPTH:
        return []
    readers = chain.env_callables()
    if isinstance(node, cst.Call):
        name = call_name(node) or ""
        owner = name.split(".")[0]
        if not (name in OS_ENV_CALLS or name in readers or (owner in readers and "." in name)):
            return []
        variable = literal_text(chain, _argument(node, 0, "var"))
        if variable is None:
            return []
        # os.environ.get(name, default); env/config take it as default= (env's second argument is a cast)
        default = literal_text(chain, _argument(node, 1 if name in OS_ENV_CALLS else None, "default"))
        return [EnvRead(variable, default, whole, assignment.where)]
    if isinstance(node, cst.Subscript) and dotted_name(node.value) in ("os.environ", "environ"):
        index = node.slice[0].slice if node.slice else None
        variable = literal_text(chain, index.value) if isinstance(index, cst.Index) else None
        return [EnvRead(variable, None, whole, assignment.where)] if variable else []
    if isinstance(node, cst.Name):
        return [
            read
            for bound in chain.assignments(node.value)
            for read in env_reads(chain, bound, bound.value, whole, depth + 1)
        ]
    if isinstance(node, cst.BinaryOperation | cst.BooleanOperation):
        part = whole and isinstance(node, cst.BooleanOperation)  # `env(...) or "redis://..."` is still whole
        return [
            read
            for side in (node.left, node.right)
            for read in env_reads(chain, assignment, side, part, depth + 1)
        ]
    if isinstance(node, cst.FormattedString):
        return [
            read
            for piece in node.parts
            if isinstance(piece, cst.FormattedStringExpression)
            for read in env_reads(chain, assignment, piece.expression, False, depth + 1)
        ]
    return []


def url_sources(chain: SettingsChain, name: str) -> list[UrlSource]:
    """Every assignment of the URL setting `name` (or of its deprecated names) and where its value comes from."""
    sources = []
    for assignment in url_assignments(chain, name):
        reads = env_reads(chain, assignment, assignment.value, whole=True)
        text = literal_text(chain, assignment.value)
        if reads or chain.reads_environment(assignment.value):
            sources.append(UrlSource(name, assignment, "environment", tuple(reads)))
        elif text is not None:
            sources.append(UrlSource(name, assignment, "literal", literal=text))
        else:
            sources.append(UrlSource(name, assignment, "computed"))
    return sources


def literal_url_sources(chain: SettingsChain) -> list[UrlSource]:
    """The broker/backend assignments whose URL is written in the code (not read from the environment)."""
    return [s for name in URL_SETTINGS for s in url_sources(chain, name) if s.is_literal_url]
