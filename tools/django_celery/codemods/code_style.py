"""The line length the project's own linters enforce, so generated Python passes them.

Ruff's default rules do not include E501, but many projects select it (`select = ["E", ...]`) with their
own `line-length`; flake8 and black configurations say the same thing in other files. Generated code is
laid out for the strictest limit configured (so `ruff format` with the project's settings leaves it as it
is), and for ruff's default of 88 when nothing is configured.

Imports are the exception: ruff's isort (I001) wraps `from x import (...)` at ruff's own `line-length` and
reads no black or flake8 setting, so a project formatted by black at 119 with ruff at its defaults has its
imports wrapped at 88. Generated imports are laid out for the smaller of the two (`import_line_length`).
"""

from __future__ import annotations

import configparser
import tomllib
from typing import Any

from tools.django_celery.codemods.source import Reader

DEFAULT_LINE_LENGTH = 88  # ruff's and black's default
NOQA_LONG_LINE = "  # noqa: E501"
RUFF_FILES = ("ruff.toml", ".ruff.toml")


def _toml(reader: Reader, rel: str) -> dict[str, Any]:
    text = reader(rel)
    try:
        return tomllib.loads(text) if text else {}
    except tomllib.TOMLDecodeError:
        return {}


def _prefixes(folders: list[str]) -> list[str]:
    """Each folder once, as a path prefix ("" for the project root)."""
    return ["" if folder in ("", ".") else folder.rstrip("/") + "/" for folder in dict.fromkeys(folders)]


def _smallest(found: list[object]) -> int | None:
    """The smallest positive integer among the configured values found; None if none."""
    lengths = [int(value) for value in found if str(value).isdigit() and int(str(value)) > 0]
    return min(lengths, default=None)


def _ruff_lengths(config: dict[str, Any]) -> list[object]:
    """`line-length` and `lint.pycodestyle.max-line-length` (E501 uses the latter when it is set)."""
    lint = config.get("lint", {})
    pycodestyle = lint.get("pycodestyle", {}) if isinstance(lint, dict) else {}
    return [config.get("line-length"), pycodestyle.get("max-line-length") if pycodestyle else None]


def _flake8_length(reader: Reader, rel: str) -> object:
    text = reader(rel)
    if not text:
        return None
    parser = configparser.ConfigParser()
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    return parser.get("flake8", "max-line-length", fallback=None)


def project_line_length(reader: Reader, folders: list[str]) -> int:
    """The line length generated modules are laid out for: the configured one, else 88."""
    return configured_line_length(reader, folders) or DEFAULT_LINE_LENGTH


def configured_line_length(reader: Reader, folders: list[str]) -> int | None:
    """The smallest line length configured in `folders` (project root, folder of manage.py); None if none."""
    found: list[object] = []
    for prefix in _prefixes(folders):
        pyproject = _toml(reader, prefix + "pyproject.toml").get("tool", {})
        found += _ruff_lengths(pyproject.get("ruff", {}))
        found.append(pyproject.get("black", {}).get("line-length"))
        for name in RUFF_FILES:
            found += _ruff_lengths(_toml(reader, prefix + name))
        found += [_flake8_length(reader, prefix + name) for name in ("setup.cfg", "tox.ini", ".flake8")]
    return _smallest(found)


def ruff_line_length(reader: Reader, folders: list[str]) -> int:
    """ruff's own `line-length` in `folders` (the smallest when several say), else its default of 88."""
    found: list[object] = []
    for prefix in _prefixes(folders):
        found.append(
            _toml(reader, prefix + "pyproject.toml").get("tool", {}).get("ruff", {}).get("line-length")
        )
        found += [_toml(reader, prefix + name).get("line-length") for name in RUFF_FILES]
    return _smallest(found) or DEFAULT_LINE_LENGTH


def import_line_length(reader: Reader, folders: list[str]) -> int:
    """What generated `from x import ...` lines are wrapped at: within the project's limit and ruff's isort."""
    return min(project_line_length(reader, folders), ruff_line_length(reader, folders))


def mark_long_lines(code: str, limit: int) -> str:
    """Append `# noqa: E501` to code lines longer than `limit` that cannot be wrapped (a task name string).

    Templates keep every line short for ordinary names; only a very long app or model name gets here.
    Lines inside docstrings are never touched (a comment there would become part of the text).
    """
    lines, in_docstring = [], False
    for line in code.split("\n"):
        quotes = line.count('"""')
        if not in_docstring and quotes != 1 and len(line) > limit and "#" not in line:
            line += NOQA_LONG_LINE
        if quotes == 1:
            in_docstring = not in_docstring
        lines.append(line)
    return "\n".join(lines)
