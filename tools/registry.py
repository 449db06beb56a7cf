"""All the tools the model may call in a run, built from one ToolContext and keyed by their names.

AskUserQuestion is not here: it needs the runtime's interrupt machinery, so the graph builds it.
"""

from __future__ import annotations

from langchain_core.tools import StructuredTool

from tools import commands, files, search, shell, skills, todo, web
from tools.commands import CommandLibrary
from tools.context import ToolContext
from tools.skills import SkillLibrary


def build_tools(
    ctx: ToolContext, skill_library: SkillLibrary, command_library: CommandLibrary
) -> dict[str, StructuredTool]:
    """Read, Write, Edit, Glob, Grep, Bash, WebFetch, Skill, TodoWrite and SlashCommand for this run.

    WebFetch's bundled references are looked up in the skill library's roots, so the pages it can serve
    offline are the ones the loaded skills summarise.
    """
    built = [
        *files.build(ctx),
        *search.build(ctx),
        shell.build(ctx),
        web.build(ctx, skill_library.roots) if skill_library.roots else web.build(ctx),
        skills.build(ctx, skill_library),
        todo.build(ctx),
        commands.build(ctx, command_library),
    ]
    return {tool.name: tool for tool in built}
