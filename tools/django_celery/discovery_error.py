"""The one error discovery raises: what is wrong with the project as found, and how the user fixes it.

It lives in its own module so the interpreter finder, the settings map and the probe runner can all raise
it without importing `discovery` (which imports them).
"""

from __future__ import annotations

import tokenize
from pathlib import Path


class DiscoveryError(ValueError):
    """The project cannot be discovered; the message names the problem AND the fix."""


def not_utf8(path: Path, shown: str | None = None) -> str:
    """Why a non-UTF-8 source file stops the run, and the command that converts it (its declared encoding
    when it has a coding line, latin-1 as the usual guess otherwise). The agent writes UTF-8 only, so
    editing the file would re-encode the user's text; converting it is the user's decision."""
    try:
        with path.open("rb") as handle:
            declared, _ = tokenize.detect_encoding(handle.readline)
    except (OSError, SyntaxError):
        declared = "utf-8"
    source = declared if declared not in ("utf-8", "utf-8-sig") else "latin-1"
    said = f"{declared} per its coding line" if source == declared else "not valid UTF-8"
    return (
        f"{shown or path} is not UTF-8 text ({said}); the integration edits files as UTF-8 and would re-encode "
        f"it. Convert it (iconv -f {source} -t utf-8 {path} -o {path}.utf8 && mv {path}.utf8 {path}; "
        "then drop any coding line) and run again."
    )
