"""Lay out generated Python the way `ruff format` (and ruff's isort) would, for a given line length.

Generated statements are few and simple: a call with arguments, a `from x import a, b`. Each is put on
one line when it fits, else its arguments on one indented line, else one argument per line with a
trailing comma — the three layouts the formatter itself chooses between.
"""

from __future__ import annotations


def call(head: str, arguments: list[str], indent: int, limit: int, tail: str = "") -> list[str]:
    """`head(arg, ...)tail` indented by `indent` spaces, wrapped to `limit` columns."""
    pad, inner = " " * indent, " " * (indent + 4)
    joined = ", ".join(arguments)
    one_line = f"{pad}{head}({joined}){tail}"
    if len(one_line) <= limit or not arguments:
        return [one_line]
    if len(inner + joined) <= limit:
        return [f"{pad}{head}(", inner + joined, f"{pad}){tail}"]
    return [f"{pad}{head}(", *(f"{inner}{argument}," for argument in arguments), f"{pad}){tail}"]


def from_import(module: str, names: list[str], limit: int) -> list[str]:
    """`from module import a, b` sorted as isort does, exploded one name per line when too long."""
    ordered = sorted(names, key=lambda name: (not name.isupper(), not name[:1].isupper(), name.lower()))
    line = f"from {module} import {', '.join(ordered)}"
    if len(line) <= limit:
        return [line]
    return [f"from {module} import (", *(f"    {name}," for name in ordered), ")"]
