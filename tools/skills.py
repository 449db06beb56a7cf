"""The skill library (Agent Skills format) and the Skill tool that loads one into the conversation.

Progressive disclosure, as the Agent Skills spec describes it: only names and descriptions go into the
system prompt (`available_skills_block`); the body arrives when the model calls Skill; a reference or
template file only when the model asks for it by name. Skill folders live in the package, outside the
user's project, so Read cannot reach them: Skill's `resource` argument serves them instead.
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pydantic import BaseModel, Field

from tools.base import ToolError, clip, make_tool
from tools.context import ToolContext

if TYPE_CHECKING:  # the tool itself is built by make_tool, which imports langchain-core when called
    from langchain_core.tools import StructuredTool

SKILL_FILE = "SKILL.md"
RESOURCE_FOLDERS = ("references", "templates", "scripts", "assets")
SPEC_FIELDS = frozenset({"name", "description", "license", "compatibility", "metadata", "allowed-tools"})
NAME_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class SkillError(ValueError):
    """A SKILL.md that breaks the Agent Skills spec; the message names the file and the fix."""


class SkillInfo(BaseModel):
    namespace: str | None  # e.g. "celery" for skills/celery/framework-integrations
    name: str
    qualified_name: str  # "celery:framework-integrations", or just the name without a namespace
    description: str
    path: Path  # the SKILL.md file
    body: str
    allowed_tools: list[str] = Field(default_factory=list)

    @property
    def folder(self) -> Path:
        return self.path.parent

    def resources(self) -> list[str]:
        """Skill-relative paths of the files under references/, templates/, scripts/ and assets/."""
        found = []
        for folder in RESOURCE_FOLDERS:
            base = self.folder / folder
            if base.is_dir():
                found += [
                    p.relative_to(self.folder).as_posix() for p in sorted(base.rglob("*")) if p.is_file()
                ]
        return found


def parse_frontmatter(text: str) -> tuple[dict | None, str]:
    """(frontmatter mapping, body) of a markdown file; None when it has no `---` block at the top.

    Raises ValueError when the block is unterminated, is not valid YAML, or is not a mapping.
    """
    if not text.startswith("---"):
        return None, text
    end = text.find("\n---", 3)
    if end == -1:
        raise ValueError("the frontmatter has no closing '---' line")
    try:
        data = yaml.safe_load(text[3:end])
    except yaml.YAMLError as exc:
        raise ValueError(f"the frontmatter is not valid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError("the frontmatter must be a YAML mapping of fields")
    rest = text[end + 4 :]
    return data, rest.split("\n", 1)[1] if "\n" in rest else ""


def parse_tool_list(value: object) -> list[str]:
    """`allowed-tools` as a YAML list, a comma list, or the spec's space-separated list.

    In the space-separated form a parenthesised specifier stays whole: 'Bash(git status *) Read'.
    """
    if value is None:
        return []
    if isinstance(value, list):
        return [str(item).strip() for item in value if str(item).strip()]
    text = str(value)
    if "," in text:
        return [part.strip() for part in text.split(",") if part.strip()]
    return re.findall(r"[^\s(]+(?:\([^)]*\))?", text)


def load_skill(path: Path, namespace: str | None) -> SkillInfo:
    """Read and validate one SKILL.md against the Agent Skills spec."""
    try:
        data, body = parse_frontmatter(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise SkillError(f"{path}: {exc}.") from exc
    if data is None:
        raise SkillError(f"{path}: no YAML frontmatter; the file must start with a '---' line.")
    unknown = sorted(set(data) - SPEC_FIELDS)
    if unknown:
        raise SkillError(
            f"{path}: unknown frontmatter field(s) {', '.join(unknown)}; the spec allows "
            f"{', '.join(sorted(SPEC_FIELDS))}. Put extra data under 'metadata'."
        )
    name, description = data.get("name"), data.get("description")
    if not isinstance(name, str) or not 1 <= len(name) <= 64 or not NAME_PATTERN.match(name):
        raise SkillError(
            f"{path}: 'name' must be 1-64 characters of a-z, 0-9 and single inner hyphens (got {name!r})."
        )
    if name != path.parent.name:
        raise SkillError(
            f"{path}: 'name' is {name!r} but the folder is {path.parent.name!r}; they must match."
        )
    if not isinstance(description, str) or not description.strip() or len(description) > 1024:
        raise SkillError(f"{path}: 'description' must be a non-empty string of at most 1024 characters.")
    compatibility = data.get("compatibility")
    if compatibility is not None and (
        not isinstance(compatibility, str) or not 1 <= len(compatibility) <= 500
    ):
        raise SkillError(f"{path}: 'compatibility' must be a string of 1-500 characters.")
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise SkillError(f"{path}: 'metadata' must be a mapping of keys to values.")
    if "license" in data and not isinstance(data["license"], str):
        raise SkillError(f"{path}: 'license' must be a string.")
    return SkillInfo(
        namespace=namespace,
        name=name,
        qualified_name=f"{namespace}:{name}" if namespace else name,
        description=description.strip(),
        path=path,
        body=body.strip(),
        allowed_tools=parse_tool_list(data.get("allowed-tools")),
    )


class SkillLibrary:
    """The skills the agent may load, by qualified name."""

    def __init__(self, skills: list[SkillInfo], roots: tuple[Path, ...] = ()) -> None:
        self.skills = {skill.qualified_name: skill for skill in skills}
        self.roots = roots

    @classmethod
    def discover(cls, *roots: Path) -> SkillLibrary:
        """Find `<root>/<namespace>/<name>/SKILL.md` and `<root>/<name>/SKILL.md`.

        Raises SkillError naming the file when a skill breaks the spec or two skills share a name.
        """
        found: dict[str, SkillInfo] = {}
        for root in (Path(r) for r in roots):
            for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
                if (folder / SKILL_FILE).is_file():
                    candidates = [(folder / SKILL_FILE, None)]
                else:
                    candidates = [(p, folder.name) for p in sorted(folder.glob(f"*/{SKILL_FILE}"))]
                for path, namespace in candidates:
                    skill = load_skill(path, namespace)
                    if skill.qualified_name in found:
                        raise SkillError(
                            f"{path}: skill {skill.qualified_name!r} is also defined at "
                            f"{found[skill.qualified_name].path}; rename one."
                        )
                    found[skill.qualified_name] = skill
        return cls(list(found.values()), tuple(Path(r) for r in roots))

    def names(self) -> list[str]:
        return sorted(self.skills)

    def get(self, name: str) -> SkillInfo:
        """By qualified name, or by bare name when only one namespace has it; ToolError otherwise."""
        wanted = name.strip()
        if wanted in self.skills:
            return self.skills[wanted]
        same_name = [s for s in self.skills.values() if s.name == wanted]
        if len(same_name) == 1:
            return same_name[0]
        available = ", ".join(self.names()) or "(none)"
        if same_name:
            raise ToolError(
                f"skill {wanted!r} is ambiguous; use one of {', '.join(s.qualified_name for s in same_name)}."
            )
        raise ToolError(f"unknown skill {wanted!r}. Available skills: {available}.")

    def available_skills_block(self) -> str:
        """The `<available_skills>` block for the system prompt: each skill's name and description."""
        lines = ["<available_skills>"]
        for skill in sorted(self.skills.values(), key=lambda s: s.qualified_name):
            lines += [
                "<skill>",
                f"<name>{escape(skill.qualified_name)}</name>",
                f"<description>{escape(skill.description)}</description>",
                "</skill>",
            ]
        lines.append("</available_skills>")
        return "\n".join(lines)


class SkillArgs(BaseModel):
    skill: str = Field(
        description="Skill to load: 'namespace:name' (e.g. 'celery:framework-integrations') or its name."
    )
    resource: str | None = Field(
        default=None,
        description="Optional: one file of the skill to read instead, e.g. 'references/settings.md', "
        "as listed when the skill was loaded.",
    )


def build(ctx: ToolContext, library: SkillLibrary) -> StructuredTool:
    def load(skill: str, resource: str | None = None) -> str:
        info = library.get(skill)
        if resource:
            return clip(_read_resource(info, resource), ctx.output_limit)
        if info.qualified_name not in ctx.ledger.skills:
            ctx.ledger.skills.append(info.qualified_name)
        parts = [f"Skill {info.qualified_name} loaded.", "", info.body]
        resources = info.resources()
        if resources:
            parts += [
                "",
                "Files of this skill (outside the project, so Read cannot open them; call "
                f"Skill(skill={info.qualified_name!r}, resource=<path>) for one):",
                *(f"- {path}" for path in resources),
            ]
        return clip("\n".join(parts), ctx.output_limit)

    return make_tool(
        "Skill",
        SkillArgs,
        load,
        "Load a skill: expert instructions for a task, listed in <available_skills>. Returns its "
        "instructions and the list of its reference and template files; pass `resource` to read one of them.",
    )


def _read_resource(info: SkillInfo, resource: str) -> str:
    folder = info.folder.resolve()
    target = (folder / resource).resolve()
    inside = folder in target.parents and target.relative_to(folder).parts[0] in RESOURCE_FOLDERS
    if not inside or not target.is_file():
        listed = ", ".join(info.resources()) or "(none)"
        raise ToolError(f"{info.qualified_name} has no file {resource!r}. Its files: {listed}.")
    return f"{info.qualified_name}/{resource}:\n\n" + target.read_text(encoding="utf-8")
