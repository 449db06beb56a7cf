"""The slash-command library and the SlashCommand tool.

A command is a markdown prompt template (`prompts/commands/<namespace>/<name>.md` is `/namespace:name`),
in the format of Claude Code's command files. Some commands are also backed by deterministic code (a
handler): `/celery:setup` runs the libcst codemods rather than trusting a model to hand-edit settings. The
tool runs the handler, then returns its report followed by the expanded command text, so the model both
gets the work done and reads the guidance that explains it.
"""

from __future__ import annotations

import importlib
import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from agent.resources import PROMPTS_DIR
from tools.base import ToolError, make_tool
from tools.context import CommandRecord, ToolContext
from tools.skills import parse_frontmatter, parse_tool_list

if TYPE_CHECKING:  # the tool itself is built by make_tool, which imports langchain-core when called
    from langchain_core.tools import StructuredTool

Handler = Callable[[ToolContext, str], str]

DEFAULT_COMMANDS_DIR = PROMPTS_DIR / "commands"
DEFAULT_HANDLERS = {
    "celery:setup": "tools.django_celery.setup:run_setup",
    "celery:add-backend": "tools.django_celery.backend:run_add_backend",
}
PLACEHOLDER = re.compile(r"\$ARGUMENTS\[(\d+)\]|\$(\d+)|\$ARGUMENTS")


class CommandError(ValueError):
    """A command file that cannot be loaded; the message names the file."""


class CommandInfo(BaseModel):
    name: str  # "celery:setup", or "name" for a file directly under the commands folder
    description: str
    argument_hint: str | None = None
    allowed_tools: list[str] = Field(default_factory=list)
    model: str | None = None
    body: str
    path: Path


def load_command(path: Path, namespace: str | None) -> CommandInfo:
    text = path.read_text(encoding="utf-8")
    try:
        data, body = parse_frontmatter(text)
    except ValueError as exc:
        data, body = _plain_frontmatter(text)
        if data is None:
            raise CommandError(f"{path}: {exc}.") from exc
    data = data or {}
    first_line = next((line.strip("# ").strip() for line in body.splitlines() if line.strip()), "")
    hint = data.get("argument-hint")
    if isinstance(hint, list):  # `argument-hint: [backend-type]` reads as a YAML list; it is meant as text
        hint = " ".join(f"[{item}]" for item in hint)
    return CommandInfo(
        name=f"{namespace}:{path.stem}" if namespace else path.stem,
        description=str(data.get("description") or first_line),
        argument_hint=str(hint) if hint is not None else None,
        allowed_tools=parse_tool_list(data.get("allowed-tools")),
        model=str(data["model"]) if data.get("model") else None,
        body=body.strip(),
        path=path,
    )


def _plain_frontmatter(text: str) -> tuple[dict[str, str] | None, str]:
    """Command files are often not strict YAML (`argument-hint: [pool-type] [options]`); like Claude Code,
    read such a block as plain `key: value` lines rather than reject the command. None: no closed block."""
    end = text.find("\n---", 3) if text.startswith("---") else -1
    if end == -1:
        return None, text
    pairs = (line.partition(":") for line in text[3:end].splitlines() if ":" in line)
    rest = text[end + 4 :]
    return {k.strip(): v.strip() for k, _, v in pairs if k.strip()}, rest.split("\n", 1)[
        1
    ] if "\n" in rest else ""


def expand_arguments(template: str, arguments: str) -> str:
    """Fill `$ARGUMENTS`, `$ARGUMENTS[n]` and `$n` (0-based, shell-style quoting) into a command body.

    A body with no placeholder gets the arguments appended, as Claude Code does, so they are never lost.
    """
    positional: list[str] | None = None

    def substitute(match: re.Match[str]) -> str:
        nonlocal positional
        index = match.group(1) or match.group(2)
        if index is None:
            return arguments
        if positional is None:
            try:
                positional = shlex.split(arguments)
            except ValueError as exc:
                raise ToolError(
                    f"cannot split the arguments {arguments!r}: {exc}. Balance the quotes."
                ) from exc
        return positional[int(index)] if int(index) < len(positional) else ""

    expanded = PLACEHOLDER.sub(substitute, template)
    if arguments and not PLACEHOLDER.search(template):
        expanded += f"\n\nARGUMENTS: {arguments}"
    return expanded


def parse_command_line(command: str) -> tuple[str, str]:
    """'/celery:setup --beat' -> ('celery:setup', '--beat')."""
    text = command.strip()
    if not text.startswith("/") or len(text) == 1:
        raise ToolError(f"{command!r} is not a slash command; write it as '/namespace:name arguments'.")
    name, _, arguments = text[1:].partition(" ")
    return name.strip(), arguments.strip()


class CommandLibrary:
    """The slash commands the agent may run, and the code that backs some of them."""

    def __init__(self, commands: list[CommandInfo], handlers: dict[str, str] | None = None) -> None:
        self.commands = {command.name: command for command in commands}
        self.handlers = dict(DEFAULT_HANDLERS if handlers is None else handlers)

    @classmethod
    def discover(cls, *roots: Path) -> CommandLibrary:
        """`<root>/<namespace>/<name>.md` -> /namespace:name and `<root>/<name>.md` -> /name."""
        found: dict[str, CommandInfo] = {}
        for root in (Path(r) for r in roots or (DEFAULT_COMMANDS_DIR,)):
            if not root.is_dir():
                continue
            files = [(p, None) for p in sorted(root.glob("*.md"))]
            files += [(p, p.parent.name) for p in sorted(root.glob("*/*.md"))]
            for path, namespace in files:
                command = load_command(path, namespace)
                if command.name in found:
                    raise CommandError(
                        f"{path}: /{command.name} is also defined at {found[command.name].path}."
                    )
                found[command.name] = command
        return cls(list(found.values()))

    def register_handler(self, name: str, target: str) -> None:
        """Back `/name` with `module:function`, imported lazily and called as `function(ctx, arguments)`."""
        if ":" not in target:
            raise ValueError(f"handler target {target!r} must look like 'package.module:function'")
        self.handlers[name.lstrip("/")] = target

    def names(self) -> list[str]:
        return sorted(self.commands)

    def get(self, name: str) -> CommandInfo:
        """By full name, or by bare name when a single namespace has it; ToolError listing the known ones."""
        if name in self.commands:
            return self.commands[name]
        same = [c for c in self.commands.values() if c.name.rsplit(":", 1)[-1] == name]
        if len(same) == 1:
            return same[0]
        known = ", ".join(f"/{n}" for n in self.names()) or "(none)"
        raise ToolError(f"unknown slash command /{name}. Known commands: {known}.")

    def handler_for(self, name: str) -> Handler | None:
        target = self.handlers.get(name)
        if target is None:
            return None
        module_name, _, function_name = target.partition(":")
        try:
            return getattr(importlib.import_module(module_name), function_name)
        except (ImportError, AttributeError) as exc:
            raise ToolError(f"/{name} is backed by {target}, which cannot be loaded: {exc}.") from exc


class SlashCommandArgs(BaseModel):
    command: str = Field(
        description="The command line with its arguments, e.g. '/celery:setup --apps polls --beat' or "
        "'/celery:add-backend django-db'."
    )


def build(ctx: ToolContext, library: CommandLibrary) -> StructuredTool:
    def slash_command(command: str) -> str:
        name, arguments = parse_command_line(command)
        info = library.get(name)
        guidance = expand_arguments(info.body, arguments)
        entries_before = len(ctx.journal.index.entries)

        def record(ok: bool) -> None:
            changed = [entry.path for entry in ctx.journal.index.entries[entries_before:]]
            ctx.ledger.commands.append(
                CommandRecord(command=f"/{info.name}", arguments=arguments, ok=ok, changed_files=changed)
            )

        try:
            handler = library.handler_for(info.name)
            message = str(handler(ctx, arguments)) if handler is not None else None
        except Exception:
            record(False)
            raise
        record(True)
        header = f"/{info.name}" + (f" {arguments}" if arguments else "")
        if message is None:
            return f"{header} (a prompt, no code runs for it):\n\n{guidance}"
        return f"{message}\n\n--- guidance of {header} ---\n{guidance}"

    listing = [
        f"- /{c.name}" + (f" {c.argument_hint}" if c.argument_hint else "") + f": {c.description}"
        for c in (library.commands[n] for n in library.names())
    ]
    return make_tool(
        "SlashCommand",
        SlashCommandArgs,
        slash_command,
        "Run a slash command: some are backed by code that makes the change itself (and reports what it "
        "wrote); all return their guidance text. Pass the whole command line with its arguments. "
        "Available:\n" + ("\n".join(listing) or "(none)"),
    )
