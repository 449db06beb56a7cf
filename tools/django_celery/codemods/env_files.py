"""`.env.example` (documented placeholders, never real values) and `.gitignore` entries for env files.

Only keys / lines that are missing are appended, so a second run changes nothing and what the user
wrote stays where it was.
"""

from __future__ import annotations

import re
import textwrap

from tools.django_celery.codemods.workspace import ProjectEdits

ENV_EXAMPLE = ".env.example"
GITIGNORE = ".gitignore"
NOTE_WIDTH = 100  # a note is wrapped into comment lines of at most this many characters (plus "# ")
GITIGNORE_LINES = (".env", ".env.*", "!.env.example", "celerybeat-schedule*")


def _keys(text: str) -> set[str]:
    return set(re.findall(r"^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=", text, re.MULTILINE))


def _append(text: str, lines: list[str]) -> str:
    newline = "\r\n" if "\r\n" in text else "\n"
    if text and not text.endswith("\n"):
        text += newline
    if text.strip():
        text += newline
    return text + "".join(line + newline for line in lines)


def ensure_env_example(
    edits: ProjectEdits, values: dict[str, str], comment: str, notes: tuple[str, ...] | list[str] = ()
) -> None:
    """Add `KEY=value` lines for the keys `.env.example` lacks (values must be placeholders), and each note
    (a comment saying where a value comes from instead of a variable) that is not there yet."""
    text = edits.read(ENV_EXAMPLE) or ""
    missing = {key: value for key, value in values.items() if key not in _keys(text)}
    present = {line.strip() for line in text.splitlines()}
    wrapped = [[f"# {line}" for line in textwrap.wrap(note, NOTE_WIDTH)] for note in notes]
    new_notes = [line for lines in wrapped if not set(lines) <= present for line in lines]
    if not missing and not new_notes:
        edits.note(ENV_EXAMPLE)
        return
    lines = [f"# {comment}", *new_notes, *(f"{key}={value}" for key, value in missing.items())]
    added = [*missing, *(["a note on where the Celery URLs come from"] if new_notes else [])]
    edits.write(ENV_EXAMPLE, _append(text, lines), "added " + ", ".join(added))


def ensure_gitignore(edits: ProjectEdits) -> None:
    """Ignore .env files (but not .env.example) and beat's schedule file."""
    text = edits.read(GITIGNORE) or ""
    present = [line.strip() for line in text.splitlines()]
    missing = [line for line in GITIGNORE_LINES if line not in present]
    env_patterns = [i for i, line in enumerate(missing) if line in (".env", ".env.*")]
    if env_patterns and "!.env.example" not in missing:
        # a negation only overrides the patterns above it: repeat it below the ones added now
        missing.insert(env_patterns[-1] + 1, "!.env.example")
    if not missing:
        edits.note(GITIGNORE)
        return
    lines = [
        "# Environment files hold secrets; .env.example documents them. Beat's local schedule.",
        *missing,
    ]
    edits.write(GITIGNORE, _append(text, lines), "added " + ", ".join(missing))
