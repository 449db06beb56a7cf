"""Shared plumbing for tools: errors become messages the model can act on, never exceptions in the graph."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from tools.sandbox import PathEscapeError

# ToolError and error_message are used well beyond the tools (checks, the secret guard, the no-op fast
# path): importing langchain-core (and langsmith behind it, half a second) is left to make_tool's callers.
if TYPE_CHECKING:
    from langchain_core.tools import StructuredTool


class ToolError(Exception):
    """A failure the model should read: say what went wrong and what to do instead."""


def error_message(exc: BaseException) -> str:
    if isinstance(exc, ToolError | PathEscapeError):
        return f"Error: {exc}"
    if isinstance(exc, FileNotFoundError):
        return f"Error: no such file: {exc.filename}. Check the path with Glob first."
    if isinstance(exc, IsADirectoryError):
        return f"Error: {exc.filename} is a directory, not a file. Use Glob to list it."
    if isinstance(exc, PermissionError):
        return f"Error: permission denied: {exc.filename}."
    if isinstance(exc, UnicodeDecodeError):
        return "Error: the file is not UTF-8 text; it cannot be read or edited as text."
    return f"Error: {type(exc).__name__}: {exc}"


def make_tool(
    name: str, schema: type[BaseModel], func: Callable[..., str], description: str
) -> StructuredTool:
    """A LangChain tool whose errors come back as 'Error: ...' text instead of raising.

    `description` is what the model reads: say what the tool does, when to use it, and its limits.
    """
    from langchain_core.tools import StructuredTool

    @functools.wraps(func)
    def guarded(**kwargs: Any) -> str:
        try:
            return func(**kwargs)
        except Exception as exc:
            return error_message(exc)

    return StructuredTool.from_function(func=guarded, name=name, description=description, args_schema=schema)


def clip(text: str, limit: int) -> str:
    """Cap tool output, saying how much was left out so the model can ask for a narrower slice."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n... [{len(text) - limit} more characters not shown; narrow the request]"
