"""`.env.example` (documented placeholders, never real values) and `.gitignore` entries for env files.

Only keys / lines that are missing are appended, so a second run changes nothing and what the user
wrote stays where it was.
"""

from __future__ import annotations

import re

from tools.django_celery.codemods.workspace import ProjectEdits

ENV_EXAMPLE = ".env.example"
GITIGNORE = ".gitignore"
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


def ensure_env_example(edits: ProjectEdits, values: dict[str, str], comment: str) -> None:
    """Add `KEY=value` lines for the keys `.env.example` lacks (values must be placeholders)."""
    text = edits.read(ENV_EXAMPLE) or ""
    missing = {key: value for key, value in values.items() if key not in _keys(text)}
    if not missing:
        edits.note(ENV_EXAMPLE)
        return
    lines = [f"# {comment}", *(f"{key}={value}" for key, value in missing.items())]
    edits.write(ENV_EXAMPLE, _append(text, lines), "added " + ", ".join(missing))


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
