"""Glob and Grep: find files and text in the user's project without wading through its virtualenv.

Both walk the same tree: `.git`, `node_modules`, `__pycache__` and any virtualenv (a folder holding
`pyvenv.cfg`) are skipped, because they are large, not the user's code, and would drown the answer. Symlinks
that lead out of the project are never followed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

from tools.base import ToolError, clip, make_tool
from tools.context import ToolContext
from tools.sandbox import relative_to_project, resolve_in_project
from tools.secret_guard import is_private_env_file

SKIPPED_DIR_NAMES = frozenset({".git", "node_modules", "__pycache__"})
MAX_GLOB_RESULTS = 500
MAX_GREP_FILE_BYTES = 10 * 1024 * 1024
MAX_GREP_LINE_CHARS = 500


def is_skipped_dir(path: Path) -> bool:
    """True for folders no search should enter: VCS data, dependencies, caches, virtualenvs."""
    return path.name in SKIPPED_DIR_NAMES or (path / "pyvenv.cfg").is_file()


def walk_project(root: Path, start: Path | None = None) -> Iterator[Path]:
    """Every file under `start` (default: the root), minus the skipped folders; each folder's files sorted."""
    root = Path(root).resolve()
    for dirpath, dirnames, filenames in os.walk(start or root):
        directory = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not is_skipped_dir(directory / d))
        for name in sorted(filenames):
            path = directory / name
            if path.is_symlink() and not _inside(root, path):
                continue
            yield path


def _inside(root: Path, path: Path) -> bool:
    resolved = path.resolve()
    return resolved == root or root in resolved.parents


def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a glob (`**` any folders, `*`, `?`, `[abc]`, `{a,b}`) to a regex over '/'-separated paths."""
    return re.compile(_translate(pattern), re.DOTALL)


def _translate(pattern: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
            continue
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and "]" in pattern[index + 2 :]:
            end = pattern.index("]", index + 2)
            body = pattern[index + 1 : end]
            body = "^" + body[1:] if body.startswith("!") else body
            out.append("[" + body.replace("\\", "\\\\") + "]")
            index = end
        elif char == "{" and "}" in pattern[index:]:
            end = pattern.index("}", index)
            alternatives = pattern[index + 1 : end].split(",")
            out.append("(?:" + "|".join(_translate(alt) for alt in alternatives) + ")")
            index = end
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


class GlobArgs(BaseModel):
    pattern: str = Field(
        description="Glob matched against paths relative to `path`, e.g. '**/settings*.py' (any depth), "
        "'*/apps.py' (one level down), '**/*.{py,txt}'. '*' never crosses a '/'."
    )
    path: str | None = Field(default=None, description="Folder to search in (default: the project root).")


class GrepArgs(BaseModel):
    pattern: str = Field(description="Python regular expression searched line by line, e.g. 'def \\w+_task'.")
    path: str | None = Field(
        default=None, description="File or folder to search (default: the project root)."
    )
    glob: str | None = Field(
        default=None,
        description="Only files matching this glob: without '/' it matches the file name ('*.py'); with '/' "
        "the project-relative path ('**/migrations/*.py').",
    )
    case_insensitive: bool = Field(default=False, description="Ignore case.")
    output_mode: Literal["files_with_matches", "content", "count"] = Field(
        default="files_with_matches",
        description="files_with_matches: matching file paths; content: matching lines with line numbers; "
        "count: matches per file.",
    )
    context: int = Field(
        default=0, ge=0, le=20, description="Lines of context around each match (content mode)."
    )
    head_limit: int = Field(default=250, ge=1, description="At most this many result lines.")


def build_glob(ctx: ToolContext) -> StructuredTool:
    def glob(pattern: str, path: str | None = None) -> str:
        start = resolve_in_project(ctx.project_root, path or ".")
        if not start.is_dir():
            raise ToolError(f"{path} is not a folder. Give a folder to search in, or omit path.")
        regex = glob_regex(pattern.removeprefix("./"))
        matches = sorted(
            relative_to_project(ctx.project_root, file)
            for file in walk_project(ctx.project_root, start)
            if regex.fullmatch(file.relative_to(start).as_posix())
        )
        if not matches:
            return f"No files match {pattern!r}" + (f" under {path}." if path else ".")
        shown = matches[:MAX_GLOB_RESULTS]
        if len(matches) > len(shown):
            shown.append(f"... {len(matches) - len(shown)} more; use a narrower pattern or path.")
        return clip("\n".join(shown), ctx.output_limit)

    return make_tool(
        "Glob",
        GlobArgs,
        glob,
        "Find project files by name pattern ('**/settings*.py', '**/tasks.py'). Returns sorted "
        f"project-relative paths (at most {MAX_GLOB_RESULTS}). Skips .git, node_modules, __pycache__ and "
        "virtualenvs. Use it to locate files before Read.",
    )


def build_grep(ctx: ToolContext) -> StructuredTool:
    def grep(
        pattern: str,
        path: str | None = None,
        glob: str | None = None,
        case_insensitive: bool = False,
        output_mode: str = "files_with_matches",
        context: int = 0,
        head_limit: int = 250,
    ) -> str:
        try:
            regex = re.compile(pattern, re.IGNORECASE if case_insensitive else 0)
        except re.error as exc:
            raise ToolError(
                f"invalid regular expression {pattern!r}: {exc}. Escape special characters."
            ) from exc
        start = resolve_in_project(ctx.project_root, path or ".")
        files = [start] if start.is_file() else sorted(walk_project(ctx.project_root, start))
        file_filter = _file_filter(glob)
        lines: list[str] = []
        for file in files:
            rel = relative_to_project(ctx.project_root, file)
            if (file_filter is not None and not file_filter(rel)) or is_private_env_file(file):
                continue  # a private .env never reaches the model (tools.secret_guard)
            text = _text_of(file)
            if text is None:
                continue
            lines.extend(_report(rel, text.splitlines(), regex, output_mode, context))
        if not lines:
            return f"No matches for {pattern!r}."
        shown = lines[:head_limit]
        if len(lines) > head_limit:
            shown.append(
                f"... {len(lines) - head_limit} more result lines; narrow the pattern, path or glob."
            )
        return clip("\n".join(shown), ctx.output_limit)

    return make_tool(
        "Grep",
        GrepArgs,
        grep,
        "Search file contents with a Python regular expression, line by line. Filter files with `glob`; "
        "output_mode chooses file paths (default), matching lines with numbers (optionally with context), "
        "or counts. Skips binary files, .git, node_modules, __pycache__ and virtualenvs.",
    )


def _file_filter(glob: str | None) -> Callable[[str], bool] | None:
    if not glob:
        return None
    regex = glob_regex(glob.removeprefix("./"))
    if "/" in glob:
        return lambda rel: regex.fullmatch(rel) is not None
    return lambda rel: regex.fullmatch(rel.rsplit("/", 1)[-1]) is not None


def _text_of(file: Path) -> str | None:
    """The file as text, or None for binaries and files too large to be source code."""
    try:
        if file.stat().st_size > MAX_GREP_FILE_BYTES:
            return None
        data = file.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def _report(rel: str, lines: list[str], regex: re.Pattern[str], mode: str, context: int) -> list[str]:
    hits = [index for index, line in enumerate(lines) if regex.search(line)]
    if not hits:
        return []
    if mode == "files_with_matches":
        return [rel]
    if mode == "count":
        return [f"{rel}:{len(hits)}"]
    out: list[str] = []
    hit_set = set(hits)
    last_shown = -1
    for hit in hits:
        first, last = max(0, hit - context), min(len(lines) - 1, hit + context)
        if context and last_shown >= 0 and first > last_shown + 1:
            out.append("--")
        for index in range(max(first, last_shown + 1), last + 1):
            separator = ":" if index in hit_set else "-"
            line = lines[index]
            if len(line) > MAX_GREP_LINE_CHARS:
                line = line[:MAX_GREP_LINE_CHARS] + " ..."
            out.append(f"{rel}{separator}{index + 1}{separator}{line}")
        last_shown = max(last_shown, last)
    return out


def build(ctx: ToolContext) -> list[StructuredTool]:
    return [build_glob(ctx), build_grep(ctx)]
