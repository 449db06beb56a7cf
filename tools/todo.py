"""TodoWrite: the model's visible plan, which the planning gate reads from the ledger.

The whole list is replaced on every call (the model sends the list as it now stands), so the ledger always
holds the current plan rather than a history of edits.
"""

from __future__ import annotations

from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

from tools.base import ToolError, make_tool
from tools.context import TodoItem, ToolContext

MARKS = {"completed": "[x]", "in_progress": "[>]", "pending": "[ ]"}


class TodoWriteArgs(BaseModel):
    todos: list[TodoItem] = Field(
        description="The complete task list as it stands now: each {content, status} with status pending, "
        "in_progress or completed. At most one task is in_progress."
    )


def render_todos(todos: list[TodoItem]) -> str:
    return "\n".join(f"{MARKS[item.status]} {item.content}" for item in todos) or "(no tasks)"


def build(ctx: ToolContext) -> StructuredTool:
    def todo_write(todos: list[TodoItem]) -> str:
        items = [TodoItem.model_validate(item) for item in todos]
        if any(not item.content.strip() for item in items):
            raise ToolError("every task needs a non-empty content. Describe each task in a few words.")
        in_progress = [item.content for item in items if item.status == "in_progress"]
        if len(in_progress) > 1:
            raise ToolError(
                f"{len(in_progress)} tasks are in_progress ({'; '.join(in_progress)}); keep exactly one "
                "in_progress and mark the others pending or completed."
            )
        ctx.ledger.todos = items
        done = sum(item.status == "completed" for item in items)
        return f"Task list updated ({done}/{len(items)} completed):\n{render_todos(items)}"

    return make_tool(
        "TodoWrite",
        TodoWriteArgs,
        todo_write,
        "Record the plan as a task list and keep it current: send the whole list each time, marking the "
        "task you are working on in_progress (only one at a time) and finished ones completed.",
    )
