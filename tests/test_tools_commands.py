"""Slash commands (expansion, discovery, handler dispatch), TodoWrite, and the registry that builds them all."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tool_support import make_ctx
from tools import commands, todo
from tools.base import ToolError
from tools.commands import CommandLibrary, expand_arguments
from tools.context import ToolContext
from tools.registry import build_tools
from tools.skills import SkillLibrary


def write_files_handler(ctx: ToolContext, arguments: str) -> str:
    """A tiny deterministic handler: writes one file per argument through the journal."""
    if not arguments:
        raise ToolError("give at least one file name")
    for name in arguments.split():
        ctx.journal.write_text(f"generated/{name}.txt", f"{name}\n")
    return f"wrote {len(arguments.split())} file(s)"


@pytest.fixture
def command_root(tmp_path: Path) -> Path:
    root = tmp_path / "commands"
    (root / "demo").mkdir(parents=True)
    (root / "demo" / "make.md").write_text(
        "---\ndescription: Write files\nargument-hint: NAME...\nallowed-tools: Write, Bash(ls *)\nmodel: haiku\n"
        "---\n\nMake $ARGUMENTS now; first is $0, second $ARGUMENTS[1].\n"
    )
    (root / "hello.md").write_text("# Greets the user\n\nSay hello.\n")
    return root


def test_argument_expansion() -> None:
    template = "all=[$ARGUMENTS] zero=[$0] one=[$1] idx=[$ARGUMENTS[1]] none=[$5]"
    expanded = expand_arguments(template, "--apps 'polls users' --beat")
    assert (
        expanded
        == "all=[--apps 'polls users' --beat] zero=[--apps] one=[polls users] idx=[polls users] none=[]"
    )
    assert expand_arguments("No placeholders.", "--beat") == "No placeholders.\n\nARGUMENTS: --beat"
    assert expand_arguments("No placeholders.", "") == "No placeholders."
    with pytest.raises(ToolError, match="Balance the quotes"):
        expand_arguments("$0", "'unclosed")
    assert expand_arguments("$ARGUMENTS", "'unclosed") == "'unclosed"  # whole string needs no splitting


def test_discovery_names_and_frontmatter(command_root: Path) -> None:
    library = CommandLibrary.discover(command_root)
    assert library.names() == ["demo:make", "hello"]
    make = library.get("demo:make")
    assert (make.description, make.argument_hint, make.allowed_tools, make.model) == (
        "Write files",
        "NAME...",
        ["Write", "Bash(ls *)"],
        "haiku",
    )
    assert library.get("hello").description == "Greets the user"
    assert library.get("make") is make
    assert commands.parse_command_line("  /demo:make a b ") == ("demo:make", "a b")
    with pytest.raises(ToolError, match="not a slash command"):
        commands.parse_command_line("demo:make")


def test_handler_runs_then_guidance_follows_and_ledger_records(
    startproject: Path, tmp_path: Path, command_root: Path
) -> None:
    library = CommandLibrary.discover(command_root)
    library.register_handler("demo:make", "tests.test_tools_commands:write_files_handler")
    ctx = make_ctx(startproject, tmp_path)
    tool = commands.build(ctx, library)
    assert "- /demo:make NAME...: Write files" in tool.description

    result = tool.invoke({"command": "/demo:make alpha beta"})
    assert result == (
        "wrote 2 file(s)\n\n--- guidance of /demo:make alpha beta ---\n"
        "Make alpha beta now; first is alpha, second beta."
    )
    assert (startproject / "generated" / "beta.txt").read_text() == "beta\n"
    failed = tool.invoke({"command": "/demo:make"})
    assert failed == "Error: give at least one file name"
    prompt_only = tool.invoke({"command": "/hello there"})
    assert prompt_only == (
        "/hello there (a prompt, no code runs for it):\n\n# Greets the user\n\nSay hello.\n\nARGUMENTS: there"
    )
    assert [(r.command, r.arguments, r.ok, r.changed_files) for r in ctx.ledger.commands] == [
        ("/demo:make", "alpha beta", True, ["generated/alpha.txt", "generated/beta.txt"]),
        ("/demo:make", "", False, []),
        ("/hello", "there", True, []),
    ]

    unknown = tool.invoke({"command": "/celery:nope --x"})
    assert unknown == "Error: unknown slash command /celery:nope. Known commands: /demo:make, /hello."
    assert len(ctx.ledger.commands) == 3


def test_a_handler_that_cannot_be_imported_is_reported(
    startproject: Path, tmp_path: Path, command_root: Path
) -> None:
    library = CommandLibrary.discover(command_root)
    library.register_handler("/hello", "tests.no_such_module:run")
    ctx = make_ctx(startproject, tmp_path)
    result = commands.build(ctx, library).invoke({"command": "/hello"})
    assert result.startswith("Error: /hello is backed by tests.no_such_module:run, which cannot be loaded")
    assert ctx.ledger.commands[0].ok is False
    assert CommandLibrary([]).handlers == commands.DEFAULT_HANDLERS


def test_todo_write_replaces_the_plan_and_allows_one_in_progress(startproject: Path, tmp_path: Path) -> None:
    ctx = make_ctx(startproject, tmp_path)
    tool = todo.build(ctx)
    result = tool.invoke(
        {
            "todos": [
                {"content": "Read settings", "status": "completed"},
                {"content": "Write celery.py", "status": "in_progress"},
                {"content": "Run migrations"},
            ]
        }
    )
    assert result == (
        "Task list updated (1/3 completed):\n[x] Read settings\n[>] Write celery.py\n[ ] Run migrations"
    )
    refused = tool.invoke(
        {"todos": [{"content": "a", "status": "in_progress"}, {"content": "b", "status": "in_progress"}]}
    )
    assert refused.startswith("Error: 2 tasks are in_progress")
    assert tool.invoke({"todos": [{"content": "  "}]}).startswith("Error:")
    assert [item.content for item in ctx.ledger.todos] == [
        "Read settings",
        "Write celery.py",
        "Run migrations",
    ]
    tool.invoke({"todos": []})
    assert ctx.ledger.todos == []


def test_registry_builds_every_tool_by_name(startproject: Path, tmp_path: Path, command_root: Path) -> None:
    skill_root = tmp_path / "skills"
    (skill_root / "tiny").mkdir(parents=True)
    (skill_root / "tiny" / "SKILL.md").write_text("---\nname: tiny\ndescription: A tiny skill.\n---\nBody.\n")
    ctx = make_ctx(startproject, tmp_path, allow_network=False, cache_dir=tmp_path / "cache")
    tools = build_tools(ctx, SkillLibrary.discover(skill_root), CommandLibrary.discover(command_root))
    assert sorted(tools) == sorted(
        ["Read", "Write", "Edit", "Glob", "Grep", "Bash", "WebFetch", "Skill", "TodoWrite", "SlashCommand"]
    )
    assert tools["Skill"].invoke({"skill": "tiny"}).endswith("Body.")
    assert tools["Glob"].invoke({"pattern": "manage.py"}) == "manage.py"
    assert "no bundled reference" in tools["WebFetch"].invoke({"url": "https://example.org/page"})
