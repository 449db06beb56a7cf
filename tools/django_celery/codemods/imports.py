"""Add `from <module> import <name>` to a user's module once, where isort (and ruff's `I` rules) would put it.

libcst's AddImportsVisitor appends after the last import, which breaks a project that lints its import
order. Here a name joins an existing `from <module> import ...` line when there is one; otherwise the new
statement goes into its section (standard library, third party, first party, local) in sorted position,
starting a new section with one blank line when the module has none of that kind yet.
"""

from __future__ import annotations

import sys
from typing import Literal

import libcst as cst

from tools.django_celery.codemods.cst_tools import dotted_name

Section = Literal["future", "stdlib", "thirdparty", "firstparty", "local"]
SECTION_ORDER: tuple[Section, ...] = ("future", "stdlib", "thirdparty", "firstparty", "local")


def isort_key(name: str) -> tuple[bool, bool, str]:
    """isort's order-by-type within one `from` import: CONSTANTS, Classes, functions."""
    return not name.isupper(), not name[:1].isupper(), name.lower()


def _section(statement: cst.SimpleStatementLine, first_party: set[str]) -> tuple[Section, bool, str] | None:
    """(section, is a from-import, module) of an import line; None for anything else."""
    node = statement.body[0] if len(statement.body) == 1 else None
    if isinstance(node, cst.Import):
        module, is_from = dotted_name(node.names[0].name) or "", False
    elif isinstance(node, cst.ImportFrom):
        if node.relative:
            return (
                "local",
                True,
                "." * len(node.relative) + (dotted_name(node.module) or "" if node.module else ""),
            )
        module, is_from = dotted_name(node.module) or "" if node.module else "", True
    else:
        return None
    top = module.split(".")[0]
    if top == "__future__":
        return "future", is_from, module
    if top in sys.stdlib_module_names:
        return "stdlib", is_from, module
    return ("firstparty" if top in first_party else "thirdparty"), is_from, module


def _has_docstring(module: cst.Module) -> bool:
    first = module.body[0] if module.body else None
    return (
        isinstance(first, cst.SimpleStatementLine)
        and isinstance(first.body[0], cst.Expr)
        and isinstance(first.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )


def _import_block(module: cst.Module, first_party: set[str]) -> list[tuple[int, Section, bool, str]]:
    """(index in body, section, is-from, module) of the leading run of top-level import lines."""
    block = []
    for index, statement in enumerate(module.body):
        if index == 0 and _has_docstring(module):
            continue
        found = _section(statement, first_party) if isinstance(statement, cst.SimpleStatementLine) else None
        if found is None:
            break
        block.append((index, *found))
    return block


def _add_name(node: cst.ImportFrom, name: str) -> cst.ImportFrom:
    """`from m import a, c` + b -> `from m import a, b, c` (the line's own comma style kept)."""
    aliases = list(node.names)  # type: ignore[arg-type]
    names = [dotted_name(a.name) or "" for a in aliases]
    at = sum(isort_key(existing) < isort_key(name) for existing in names)
    separator = next((a.comma for a in aliases if isinstance(a.comma, cst.Comma)), None)
    comma = separator or cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    new = cst.ImportAlias(name=cst.Name(name))
    if at == len(aliases):  # last: it takes over the old last's trailing comma (or none)
        aliases[-1], new = aliases[-1].with_changes(comma=comma), new.with_changes(comma=aliases[-1].comma)
    else:
        new = new.with_changes(comma=comma)
    aliases.insert(at, new)
    return node.with_changes(names=aliases)


def ensure_from_import(module: cst.Module, source: str, name: str, first_party: set[str]) -> cst.Module:
    """The module with `name` importable from `source` at top level (unchanged when it already is)."""
    body = list(module.body)
    for index, statement in enumerate(body):
        node = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) else None
        if isinstance(node, cst.ImportFrom) and not node.relative and node.module is not None:
            if dotted_name(node.module) != source or isinstance(node.names, cst.ImportStar):
                continue
            if any(dotted_name(a.name) == name and a.asname is None for a in node.names):
                return module
            body[index] = statement.with_changes(body=[_add_name(node, name)])  # type: ignore[union-attr]
            return module.with_changes(body=body)
    new = cst.parse_statement(f"from {source} import {name}")
    block = _import_block(module, first_party)
    section: Section = "stdlib" if source.split(".")[0] in sys.stdlib_module_names else "thirdparty"
    rank = SECTION_ORDER.index(section)
    same = [b for b in block if b[1] == section]
    if same:
        before = [b for b in same if (b[2], b[3]) <= (True, source)]
        at = before[-1][0] + 1 if before else same[0][0]
        if not before:  # first of its section: it takes over the section's leading blank line
            new = new.with_changes(leading_lines=body[at].leading_lines)  # type: ignore[union-attr]
            body[at] = body[at].with_changes(leading_lines=[])
        body.insert(at, new)
        return module.with_changes(body=body)
    later = [b for b in block if SECTION_ORDER.index(b[1]) > rank]
    blank = [cst.EmptyLine()]
    if later:
        at = later[0][0]
        new = new.with_changes(leading_lines=body[at].leading_lines if at else [])  # type: ignore[union-attr]
        body[at] = body[at].with_changes(leading_lines=blank)
    elif block:
        at = block[-1][0] + 1
        new = new.with_changes(leading_lines=blank)  # type: ignore[union-attr]
    else:  # no imports at all: after the docstring, if any
        at = 1 if _has_docstring(module) else 0
        new = new.with_changes(leading_lines=blank if at else [])  # type: ignore[union-attr]
        if at < len(body) and not body[at].leading_lines:
            body[at] = body[at].with_changes(leading_lines=blank)
    body.insert(at, new)
    return module.with_changes(body=body)
