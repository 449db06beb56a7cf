"""Claude Code plugin folders: agents, commands and skills loaded as a whole, under the plugin's namespace.

A plugin folder holds `agents/*.md`, `commands/**/*.md`, `skills/<name>/SKILL.md` and, optionally,
`.claude-plugin/plugin.json` whose `name` is the namespace (else the folder's name), so a plugin called
`celery` gives `celery:django-integrator`, `/celery:setup` and `Skill(celery:framework-integrations)`.
A plugin's own commands and skills win over ours of the same name; ours (the deterministic `/celery:setup`
and `/celery:add-backend` among them) serve only the names the plugin does not define, and the definition
is told about each one it names that its own folder lacks, so nothing is replaced silently.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from agent.definition_models import AgentDefinition
from agent.resources import DEFAULT_DEFINITION, PROMPTS_DIR, SKILLS_DIR
from tools.commands import DEFAULT_HANDLERS, CommandError, CommandInfo, CommandLibrary, load_command
from tools.skills import SKILL_FILE, SkillError, SkillInfo, SkillLibrary, load_skill, parse_frontmatter

if TYPE_CHECKING:
    from agent.config import RunOptions
    from agent.state import RunContext

OURS = "django-integrator (bundled)"
_PLUGIN_PARTS = ("agents", "commands", "skills")


class PluginError(ValueError):
    """A folder that cannot be used as a plugin or an agent that cannot be picked; names the fix."""


class AgentEntry(BaseModel):
    name: str  # "celery:django-integrator"; ours is plain "django-integrator"
    description: str
    path: Path
    plugin: str  # the plugin's name, or OURS


class Catalog(BaseModel):
    """Every agent, command and skill found, ours first, each plugin's replacing ours of the same name."""

    agents: list[AgentEntry]
    commands: dict[str, CommandInfo]
    skills: dict[str, SkillInfo]
    sources: dict[str, str]  # "/celery:setup" or "Skill(celery:x)" -> the plugin that provides it
    warnings: list[str]

    def command_library(self) -> CommandLibrary:
        """Our code handlers back only the commands that are still ours; a plugin's own is a prompt."""
        handlers = {n: t for n, t in DEFAULT_HANDLERS.items() if self.sources.get(f"/{n}") == OURS}
        return CommandLibrary(list(self.commands.values()), handlers)

    def skill_library(self) -> SkillLibrary:
        return SkillLibrary(list(self.skills.values()))

    def agent(self, name: str) -> AgentEntry:
        """By namespaced name, or by bare name when one plugin alone has it."""
        exact = [a for a in self.agents if a.name == name]
        found = exact or [a for a in self.agents if a.name.rsplit(":", 1)[-1] == name]
        if len(found) == 1:
            return found[0]
        listing = ", ".join(a.name for a in self.agents) or "none"
        if found:
            raise PluginError(f"the agent name {name!r} is ambiguous. Pass one of: {listing}")
        raise PluginError(
            f"no agent named {name!r} was found. Pass one of: {listing} "
            "(`django-integrator agents --agents-dir DIR` lists them)"
        )


def plugin_name(folder: Path) -> str:
    """`name` from `.claude-plugin/plugin.json`, else the folder's name, as a lowercase slug."""
    manifest = folder / ".claude-plugin" / "plugin.json"
    if manifest.is_file():
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise PluginError(f"{manifest}: not valid JSON ({exc}). Fix the file or remove it") from None
        if isinstance(data, dict) and isinstance(data.get("name"), str) and data["name"].strip():
            return data["name"].strip()
    return re.sub(r"[^a-z0-9-]+", "-", folder.resolve().name.lower()).strip("-") or "plugin"


def plugin_root(folder: Path) -> Path:
    """The plugin folder for DIR: DIR itself, or its parent when DIR is the plugin's `agents/` folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PluginError(f"{folder} is not a folder. Pass the plugin folder (the one holding agents/)")
    if any((folder / part).is_dir() for part in _PLUGIN_PARTS):
        return folder
    if folder.name == "agents" and any(folder.glob("*.md")):
        return folder.parent
    raise PluginError(
        f"{folder} has no agents/, commands/ or skills/ folder. Pass a Claude Code plugin folder, "
        "or a definition file with --definition FILE"
    )


def build_catalog(agents_dirs: list[str] | list[Path]) -> Catalog:
    """Ours, then each plugin folder in the order given (a later one wins a name clash)."""
    warnings: list[str] = []
    agents = [_agent_entry(DEFAULT_DEFINITION, None, OURS, warnings)]
    ours_commands = CommandLibrary.discover(PROMPTS_DIR / "commands").commands
    commands = dict(ours_commands)
    skills = dict(SkillLibrary.discover(SKILLS_DIR).skills)
    sources = {f"/{n}": OURS for n in commands} | {f"Skill({n})": OURS for n in skills}
    for folder in (plugin_root(Path(d)) for d in agents_dirs):
        name = plugin_name(folder)
        for path in sorted((folder / "agents").glob("*.md")):
            agents.append(_agent_entry(path, name, name, warnings))
        for path in sorted((folder / "commands").rglob("*.md")):
            namespace = ":".join([name, *path.relative_to(folder / "commands").parent.parts])
            try:
                command = load_command(path, namespace)
            except CommandError as exc:
                warnings.append(f"command skipped: {exc}")
                continue
            commands[command.name], sources[f"/{command.name}"] = command, name
        for path in sorted((folder / "skills").glob(f"*/{SKILL_FILE}")):
            try:
                skill = load_skill(path, name)
            except SkillError as exc:
                warnings.append(f"skill skipped: {exc}")
                continue
            skills[skill.qualified_name], sources[f"Skill({skill.qualified_name})"] = skill, name
    taken: dict[str, Path] = {}
    for agent in agents:
        if agent.name in taken:
            raise PluginError(
                f"{agent.path}: the agent {agent.name} is also defined at {taken[agent.name]}. "
                "Rename one, or pass only one of the folders"
            )
        taken[agent.name] = agent.path
    return Catalog(agents=agents, commands=commands, skills=skills, sources=sources, warnings=warnings)


def _agent_entry(path: Path, namespace: str | None, plugin: str, warnings: list[str]) -> AgentEntry:
    """Listing needs only the frontmatter; the whole definition is parsed when the agent is run."""
    name, description = path.stem, ""
    try:
        data, _ = parse_frontmatter(path.read_text(encoding="utf-8-sig"))
        name = str((data or {}).get("name") or name)
        description = str((data or {}).get("description") or "")
    except ValueError as exc:
        warnings.append(f"{path}: {exc}; listed under its file name")
    return AgentEntry(
        name=f"{namespace}:{name}" if namespace else name, description=description, path=path, plugin=plugin
    )


def resolve_definition(definition: str | None, agent: str | None, agents_dirs: list[str]) -> Path:
    """The definition file a run uses: `--agent NAME` among the catalog, `--definition FILE`, or a
    `--definition DIR` plugin folder holding exactly one agent; else ours."""
    if agent:
        return build_catalog(agents_dirs).agent(agent).path
    if definition is None:
        return DEFAULT_DEFINITION
    path = Path(definition)
    if not path.is_dir():
        return path
    found = sorted((plugin_root(path) / "agents").glob("*.md")) if is_plugin(path) else []
    found = found or [p for p in sorted(path.glob("*.md")) if _has_name(p)]
    if len(found) == 1:
        return found[0]
    names = ", ".join(p.name for p in found)
    raise PluginError(
        f"--definition {definition} is a folder with {len(found)} agent definitions"
        + (f" ({names})" if names else "")
        + ". Pass --definition with one definition file, or --agents-dir DIR --agent NAME for a plugin"
    )


def _has_name(path: Path) -> bool:
    """A markdown file whose frontmatter names an agent (not a README or a notes file)."""
    try:
        data, _ = parse_frontmatter(path.read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError):
        return False
    return bool(data and data.get("name"))


def is_plugin(folder: Path) -> bool:
    """A plugin folder, or the `agents/` folder of one."""
    folder = Path(folder)
    parts = any((folder / part).is_dir() for part in _PLUGIN_PARTS)
    return folder.is_dir() and (parts or (folder.name == "agents" and any(folder.glob("*.md"))))


def plugin_dirs_for(definition: str | None, agents_dirs: list[str]) -> list[str]:
    """A `--definition DIR` plugin folder lends its commands and skills too, as `--agents-dir` would."""
    if definition and is_plugin(Path(definition)) and definition not in agents_dirs:
        return [*agents_dirs, str(plugin_root(Path(definition)))]
    return list(agents_dirs)


def definition_warnings(definition: AgentDefinition, catalog: Catalog) -> list[str]:
    """One line per skill or command the definition names that its own plugin does not define."""
    own = next((a.plugin for a in catalog.agents if a.path.resolve() == definition.path.resolve()), None)
    if own in (None, OURS):
        return []
    lines = []
    wanted = [*(f"/{c.lstrip('/')}" for c in definition.slash_commands)]
    wanted += [f"Skill({s})" for s in dict.fromkeys([*definition.skill_mentions, *definition.skills])]
    for key in wanted:
        source = catalog.sources.get(key)
        if source == own:
            continue
        where = f"{own} does not define {key}"
        if source is None:
            lines.append(f"{definition.name}: {where}, and no other folder does; calls to it will fail")
        else:
            lines.append(f"{definition.name}: {where}; the one from {source} serves instead")
    return lines


def context_warnings(context: RunContext, options: RunOptions) -> list[str]:
    """The catalog's and the definition's warnings for a run's options (printed before the run starts)."""
    catalog = build_catalog(plugin_dirs_for(options.definition, options.agents_dirs))
    return [*catalog.warnings, *definition_warnings(context.definition, catalog)]


def definition_file(options: RunOptions) -> Path:
    """The definition file a run's options select (`--definition`, `--agent` among `--agents-dir`)."""
    folders = plugin_dirs_for(options.definition, options.agents_dirs)
    return resolve_definition(options.definition, options.agent, folders)
