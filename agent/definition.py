"""Load a Claude Code-style agent definition (YAML frontmatter + markdown body) into typed parts.

The runtime must do what the file says, so the loader reads more than the frontmatter: the five numbered
phase sections under the approach heading with their `Skill(...)`, `SlashCommand(...)` and `WebFetch: <url>`
directives (and the conditions those hang on), the targeted questions of discovery and analysis, the decision
framework, and the self-verification checklist. Parsing goes by structure and keywords, not by exact
wording, so the seed and our own definition (same format, different words) load alike. Every problem is a
DefinitionError "<file>:<line>: <problem>. <how to fix>".

This module reads the frontmatter and resolves includes; `definition_body` parses the markdown body and
`definition_models` holds the typed parts (re-exported here).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from agent.checklist import PHASES
from agent.definition_body import (
    SKILL_NAME,
    checklist_of,
    decisions_of,
    phase_sections_of,
    phase_spec,
    questions_of,
    scan_lines,
    sections_of,
    unique,
)
from agent.definition_models import AgentDefinition, DefinitionError
from agent.permissions import KNOWN_TOOLS, RuleError, parse_rule
from agent.resources import PROMPTS_DIR

_NAME = re.compile(r"^[a-z0-9-]+$")
_INCLUDE = re.compile(r"^\s*@(?P<path>[^\s`@]*/[^\s`@]*|[^\s`@]+\.(?:md|markdown|txt))\s*$")  # not @app.task
_SKILL_MENTION = re.compile(rf"!\{{skill\s+(?P<a>{SKILL_NAME})\s*\}}|Skill\(\s*(?P<b>{SKILL_NAME})\s*\)")
_SLASH_MENTION = re.compile(r"(?<![\w/.:])/[a-z0-9][\w-]*:[\w-]+")


def load_definition(path: Path, project_root: Path | None = None) -> AgentDefinition:
    """Read and validate a definition; includes resolve beside the file, in the project, then in prompts/."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        problem = "no such file" if isinstance(exc, FileNotFoundError) else f"it cannot be read ({exc})"
        raise DefinitionError(
            path, 0, problem, "Pass --definition with an agent definition file (UTF-8 markdown), or omit it"
        ) from exc
    frontmatter, body, body_line = _split_frontmatter(path, text)
    meta = _read_frontmatter(path, frontmatter)
    includes: list[Path] = []
    system_prompt = _expand_includes(path, body, body_line, project_root, (path.resolve(),), includes)
    lines = scan_lines(body, body_line)
    sections = sections_of(lines, 2)
    phase_sections = phase_sections_of(path, sections, body_line)
    phases = [
        phase_spec(section, match, key) for (section, match), key in zip(phase_sections, PHASES, strict=True)
    ]
    directive_commands = [
        d.target.split()[0] for p in phases for d in p.directives if d.kind == "slash_command"
    ]
    return AgentDefinition(
        path=path,
        **meta,
        body=body,
        system_prompt=system_prompt,
        includes=includes,
        phases=phases,
        skill_mentions=unique(m["a"] or m["b"] for m in _SKILL_MENTION.finditer(body)),
        slash_commands=unique([*_SLASH_MENTION.findall(body), *directive_commands]),
        questions=questions_of([(PHASES[i], section) for i, (section, _) in enumerate(phase_sections[:2])]),
        decisions=decisions_of(sections),
        checklist=checklist_of(sections),
    )


# ---- frontmatter ----------------------------------------------------------------------------------------


def _split_frontmatter(path: Path, text: str) -> tuple[str, str, int]:
    """(frontmatter text, body text, file line of the body's first line)."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise DefinitionError(
            path,
            1,
            "the file does not start with YAML frontmatter",
            "Begin it with a '---' line, the keys (name, description, tools, ...), and a closing '---' line",
        )
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            return "".join(lines[1:index]), "".join(lines[index + 1 :]), index + 2
    raise DefinitionError(path, 1, "the frontmatter is never closed", "Add a '---' line after its last key")


def _read_frontmatter(path: Path, text: str) -> dict[str, Any]:
    """Typed frontmatter values; YAML nodes give each key's file line (frontmatter starts on line 2)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = str(getattr(exc, "problem", None) or exc).strip()
        raise DefinitionError(
            path,
            line,
            f"the frontmatter is not valid YAML ({problem})",
            "Fix the YAML syntax on that line "
            "(quote values that contain ': ' or start with a special character)",
        ) from None
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise DefinitionError(
            path, 1, "the frontmatter is not a mapping of keys to values", "Write `key: value` lines"
        )
    nodes = {key.value: (key.start_mark.line + 2, value) for key, value in root.value}

    def text_value(key: str, required: bool = False) -> str | None:
        value = data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise DefinitionError(
                    path, 1, f"the frontmatter has no `{key}`", f"Add a `{key}:` line to it"
                )
            return None
        if not isinstance(value, str | int | float):
            raise DefinitionError(path, nodes[key][0], f"`{key}` must be text", f"Write `{key}: <text>`")
        return str(value).strip()

    name = text_value("name", required=True)
    if not _NAME.match(name):
        raise DefinitionError(
            path,
            nodes["name"][0],
            f"the name {name!r} may only use lowercase letters, digits and hyphens",
            f"Rename it, e.g. `name: {re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-') or 'my-agent'}`",
        )
    tool_keys = [key for key in ("tools", "allowed-tools") if key in nodes]
    max_turns = text_value("maxTurns")
    if max_turns is not None and not max_turns.isdigit():
        raise DefinitionError(
            path, nodes["maxTurns"][0], "`maxTurns` must be a whole number", "e.g. `maxTurns: 40`"
        )
    return {
        "name": name,
        "description": text_value("description", required=True),
        "model": text_value("model"),
        "color": text_value("color"),
        "tools": [r for key in tool_keys for r in _rules(path, *nodes[key])]
        if tool_keys
        else list(KNOWN_TOOLS),
        "disallowed_tools": [
            rule
            for key in ("disallowedTools", "disallowed-tools")
            if key in nodes
            for rule in _rules(path, *nodes[key])
        ],
        "skills": [item for item, _ in _items(*nodes["skills"])] if "skills" in nodes else [],
        "max_turns": int(max_turns) if max_turns is not None else None,
        "permission_mode": text_value("permissionMode"),
    }


def _items(line: int, node: yaml.Node) -> list[tuple[str, int]]:
    """A comma list (commas inside parentheses kept) or a YAML list, each item with its file line."""
    if isinstance(node, yaml.SequenceNode):
        return [(str(item.value).strip(), item.start_mark.line + 2) for item in node.value]
    items, depth, current = [], 0, ""
    for char in str(node.value or ""):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    return [(item.strip(), line) for item in [*items, current] if item.strip()]


def _rules(path: Path, line: int, node: yaml.Node) -> list[str]:
    rules = []
    for item, item_line in _items(line, node):
        try:
            rules.append(parse_rule(item).text)
        except RuleError as exc:
            raise DefinitionError(path, item_line, exc.problem, exc.fix) from None
    return rules


# ---- includes -------------------------------------------------------------------------------------------


def _expand_includes(
    source: Path,
    text: str,
    first_line: int,
    project_root: Path | None,
    stack: tuple[Path, ...],
    found: list[Path],
) -> str:
    """Replace each `@path` line (outside fences) with the included file's text, recursively."""
    out: list[str] = []
    for line in scan_lines(text, first_line, keepends=True):
        include = None if line.fenced else _INCLUDE.match(line.text)
        if include is None:
            out.append(line.text)
            continue
        target, tried = _resolve_include(include["path"], source.parent, project_root)
        if target is None:
            raise DefinitionError(
                source,
                line.number,
                f"the include @{include['path']} does not resolve",
                f"Create the file or fix the path; looked for {', '.join(map(str, tried))}",
            )
        if target in stack:
            raise DefinitionError(
                source,
                line.number,
                f"the include @{include['path']} creates a cycle "
                f"({' -> '.join(p.name for p in (*stack, target))})",
                "Remove one of the includes in the cycle",
            )
        found.append(target)
        included = _expand_includes(
            target, target.read_text(encoding="utf-8"), 1, project_root, (*stack, target), found
        )
        out.append(included if included.endswith("\n") else included + "\n")
    return "".join(out)


def _resolve_include(name: str, folder: Path, project_root: Path | None) -> tuple[Path | None, list[Path]]:
    tried = [base / name for base in (folder, project_root, PROMPTS_DIR) if base is not None]
    return next((p.resolve() for p in tried if p.is_file()), None), tried
