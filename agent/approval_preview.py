"""What an approval prompt shows: a one-line title and the change itself (a diff, the command line).

Approving a write without seeing it is no approval, so Write and Edit show the unified diff they would
make against the file as it is now. Reading the file is the only thing done here: this runs in the side
effect free `ask` node, which LangGraph re-executes on every resume.
"""

from __future__ import annotations

import difflib
from typing import Any

from tools.base import ToolError
from tools.context import ToolContext
from tools.sandbox import PathEscapeError, relative_to_project, resolve_in_project
from tools.secret_guard import is_private_env_file

MAX_PREVIEW_LINES = 40
SLASH_COMMAND_NOTE = (
    "Code-backed commands such as /celery:setup and /celery:add-backend write the integration's files "
    "(each backed up first, so /undo restores them) and apply the new apps' migrations."
)


def preview(tool: str, args: dict[str, Any], ctx: ToolContext) -> tuple[str, str]:
    """(title, detail) for an approval prompt about `tool(**args)`."""
    if tool == "Bash":
        command = str(args.get("command", ""))
        title = f"Bash: {args['description']}" if args.get("description") else "Bash command"
        return title, f"$ {command}"
    if tool == "SlashCommand":
        command = str(args.get("command", ""))
        return f"SlashCommand {command}", _setup_plan(command, ctx) or SLASH_COMMAND_NOTE
    if tool in ("Write", "Edit"):
        return _file_change(tool, args, ctx)
    return tool, ", ".join(f"{key}={value!r}" for key, value in args.items())


def _setup_plan(command: str, ctx: ToolContext) -> str | None:
    """What `/celery:setup` would write, planned in memory (None: another command, or it cannot plan)."""
    name, _, arguments = command.strip().partition(" ")
    if not name.endswith(":setup") or ctx.facts is None:
        return None
    from tools.django_celery.setup import plan_setup, setup_decisions  # libcst: only when it is needed

    try:
        edits, _, _ = plan_setup(ctx.project_root, ctx.facts, setup_decisions(ctx, arguments))
    except (ToolError, ValueError):
        return None
    verbs = {"created": "new     ", "updated": "changed "}
    changes = [f"  {verbs[r.status]}{r.path}" for r in edits.reports() if r.status in verbs]
    if not changes:
        return "Nothing to change: every file is already correct."
    return "\n".join(
        [
            "It will write (each file backed up first, so /undo restores it):",
            *changes,
            "and apply the migrations of the Celery apps it adds.",
        ]
    )


def _file_change(tool: str, args: dict[str, Any], ctx: ToolContext) -> tuple[str, str]:
    raw = str(args.get("path", ""))
    try:
        target = resolve_in_project(ctx.project_root, raw)
    except PathEscapeError:
        return f"{tool} {raw}", "(outside the project: the call will be refused)"
    rel = relative_to_project(ctx.project_root, target)
    if is_private_env_file(target):  # never on screen or in the transcript (the tools refuse it anyway)
        return f"{tool} {rel}", "(a private environment file: its content is not shown)"
    before = target.read_bytes().decode("utf-8", errors="replace") if target.is_file() else ""
    if tool == "Write":
        after = str(args.get("content", ""))
        title = (
            f"Write {rel} ({'replace' if target.exists() else 'new file'}, {len(after.splitlines())} lines)"
        )
    else:
        old, new = str(args.get("old_string", "")), str(args.get("new_string", ""))
        if not old or old not in before:
            return f"Edit {rel}", "(the text to replace is not in the file: the call will fail)"
        after = before.replace(old, new) if args.get("replace_all") else before.replace(old, new, 1)
        title = f"Edit {rel}"
    lines = list(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            f"a/{rel}" if target.exists() else "/dev/null",
            f"b/{rel}",
        )
    )
    shown = "".join(lines[:MAX_PREVIEW_LINES]).rstrip("\n")
    if len(lines) > MAX_PREVIEW_LINES:
        shown += f"\n… {len(lines) - MAX_PREVIEW_LINES} more diff lines"
    return title, shown or "(no change: the file already has this content)"
