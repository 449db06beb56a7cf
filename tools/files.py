"""Read, Write and Edit: the model's only way to look at and change files in the user's project.

Every path goes through the project sandbox, and every change goes through the journal, so a file the
model touches can always be put back byte for byte by `undo`. The secret guard refuses a Write or Edit
that adds a secret, and a Read of a private `.env` file.
"""

from __future__ import annotations

from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

from tools.base import ToolError, clip, make_tool
from tools.context import ToolContext
from tools.sandbox import relative_to_project, resolve_in_project
from tools.secret_guard import refuse_private_env_file, refuse_secrets

DEFAULT_READ_LIMIT = 2000
MAX_LINE_CHARS = 2000


class ReadArgs(BaseModel):
    path: str = Field(
        description="File to read: project-relative (e.g. 'mysite/settings.py') or absolute inside it."
    )
    offset: int = Field(default=1, ge=1, description="1-based line number to start at (default 1).")
    limit: int = Field(
        default=DEFAULT_READ_LIMIT,
        ge=1,
        description=f"How many lines to return (default {DEFAULT_READ_LIMIT}).",
    )


class WriteArgs(BaseModel):
    path: str = Field(
        description="File to create or replace, inside the project. Missing folders are created."
    )
    content: str = Field(description="The complete new content of the file.")


class EditArgs(BaseModel):
    path: str = Field(description="File to edit, inside the project.")
    old_string: str = Field(
        description="Exact text to replace, including indentation; must occur exactly once."
    )
    new_string: str = Field(description="Text to put in its place (must differ from old_string).")
    replace_all: bool = Field(default=False, description="Replace every occurrence instead of requiring one.")


def build_read(ctx: ToolContext) -> StructuredTool:
    def read(path: str, offset: int = 1, limit: int = DEFAULT_READ_LIMIT) -> str:
        target = resolve_in_project(ctx.project_root, path)
        refuse_private_env_file(target)
        lines = target.read_bytes().decode("utf-8").splitlines()
        rel = relative_to_project(ctx.project_root, target)
        if not lines:
            return f"{rel} is empty."
        if offset > len(lines):
            raise ToolError(f"{rel} has only {len(lines)} lines; offset {offset} is past the end.")
        chosen = lines[offset - 1 : offset - 1 + limit]
        numbered = [f"{number:6}\t{_truncate(line)}" for number, line in enumerate(chosen, start=offset)]
        last = offset - 1 + len(chosen)
        if last < len(lines):
            numbered.append(
                f"... {len(lines) - last} more lines in {rel}; Read with offset={last + 1} to continue."
            )
        return clip("\n".join(numbered), ctx.output_limit)

    return make_tool(
        "Read",
        ReadArgs,
        read,
        "Read a text file of the project, returned as numbered lines (like `cat -n`). Use it before editing "
        "a file. Reads up to 2000 lines from `offset` (1-based); the result says when there is more. Lines "
        f"longer than {MAX_LINE_CHARS} characters are cut. Only UTF-8 text files inside the project.",
    )


def _truncate(line: str) -> str:
    if len(line) <= MAX_LINE_CHARS:
        return line
    return line[:MAX_LINE_CHARS] + f" ... [line cut, {len(line) - MAX_LINE_CHARS} more characters]"


def build_write(ctx: ToolContext) -> StructuredTool:
    def write(path: str, content: str) -> str:
        target = resolve_in_project(ctx.project_root, path)
        if target.is_dir():
            raise ToolError(f"{path} is a directory. Give the path of a file inside it.")
        existed = target.exists()
        rel = relative_to_project(ctx.project_root, target)
        original = target.read_bytes().decode("utf-8", errors="replace") if existed else ""
        refuse_secrets(rel, original, content)
        changed = ctx.journal.write_text(target, content)
        if not changed:
            return f"{rel} unchanged (it already has exactly this content)."
        verb = "Overwrote" if existed else "Created"
        return f"{verb} {rel} ({len(content.splitlines())} lines). The original is kept for undo."

    return make_tool(
        "Write",
        WriteArgs,
        write,
        "Create a file in the project, or replace a whole file, with `content`. Missing folders are "
        "created. For a small change to an existing file prefer Edit. The original is backed up so the "
        "change can be undone.",
    )


def build_edit(ctx: ToolContext) -> StructuredTool:
    def edit(path: str, old_string: str, new_string: str, replace_all: bool = False) -> str:
        target = resolve_in_project(ctx.project_root, path)
        rel = relative_to_project(ctx.project_root, target)
        if old_string == "":
            raise ToolError("old_string is empty. To create a file use Write; to insert, quote nearby text.")
        if old_string == new_string:
            raise ToolError("old_string and new_string are the same; there is nothing to change.")
        text = target.read_bytes().decode("utf-8")  # bytes, so CRLF line endings survive the edit
        matches = text.count(old_string)
        if matches == 0:
            raise ToolError(
                f"old_string was not found in {rel}. Read the file and copy the text exactly, "
                "including whitespace and indentation."
            )
        if matches > 1 and not replace_all:
            raise ToolError(
                f"old_string occurs {matches} times in {rel}. Add surrounding lines to make it unique, "
                "or set replace_all=true to change every occurrence."
            )
        updated = (
            text.replace(old_string, new_string) if replace_all else text.replace(old_string, new_string, 1)
        )
        refuse_secrets(rel, text, updated)
        ctx.journal.write_text(target, updated)
        count = matches if replace_all else 1
        return f"Edited {rel}: replaced {count} occurrence{'s' if count > 1 else ''}."

    return make_tool(
        "Edit",
        EditArgs,
        edit,
        "Replace exact text in an existing project file. `old_string` must match the file exactly "
        "(indentation included) and be unique unless replace_all=true; Read the file first. The original "
        "is backed up so the change can be undone.",
    )


def build(ctx: ToolContext) -> list[StructuredTool]:
    return [build_read(ctx), build_write(ctx), build_edit(ctx)]
