"""Load a Claude Code-style agent definition (YAML frontmatter + markdown body) into typed parts.

The runtime must do what the file says, so the loader reads more than the frontmatter: the five numbered
phase sections under the approach heading with their `Skill(...)`, `SlashCommand(...)` and `WebFetch: <url>`
directives (and the conditions those hang on), the targeted questions of discovery and analysis, the decision
framework, and the self-verification checklist. Parsing goes by structure and keywords, not by exact
wording, so the seed and our own definition (same format, different words) load alike. Every problem is a
DefinitionError "<file>:<line>: <problem>. <how to fix>".
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict

from agent.checklist import PHASES, Phase
from agent.permissions import KNOWN_TOOLS, RuleError, parse_rule
from agent.resources import PROMPTS_DIR

__all__ = [
    "KNOWN_TOOLS",
    "AgentDefinition",
    "DecisionOption",
    "DecisionSpec",
    "DefinitionError",
    "Directive",
    "PhaseSpec",
    "QuestionSpec",
    "load_definition",
]

_NAME = re.compile(r"^[a-z0-9-]+$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)(?:[-*+]|\d+[.)])\s+(.*)$")
_PHASE_TITLE = re.compile(r"^(\d+)[.)]\s*(.+)$")
_INCLUDE = re.compile(r"^\s*@(?P<path>[^\s`@]*/[^\s`@]*|[^\s`@]+\.(?:md|markdown|txt))\s*$")  # not @app.task
_SKILL_NAME = r"[\w.-]+(?::[\w.-]+)?"
_DIRECTIVE = re.compile(
    rf"Skill\(\s*(?P<skill>{_SKILL_NAME})\s*\)"
    r"|SlashCommand\(\s*(?P<command>/[^)]*?)\s*\)"
    r"|WebFetch(?:\(\s*|:?\s*)<?(?P<url>https?://[^\s<>()`\"']+)"
)
_SKILL_MENTION = re.compile(rf"!\{{skill\s+(?P<a>{_SKILL_NAME})\s*\}}|Skill\(\s*(?P<b>{_SKILL_NAME})\s*\)")
_SLASH_MENTION = re.compile(r"(?<![\w/.:])/[a-z0-9][\w-]*:[\w-]+")
_CONDITION_WORDS = re.compile(r"^(?:if|when|unless|only|in case|where|for)\b", re.IGNORECASE)
_RECOMMENDED = re.compile(r"(?<!not )\brecommended\b", re.IGNORECASE)
_RECOMMEND_PHRASE = re.compile(
    r"\brecommend(?:s|ed|ing)?\s+(.+?)(?=[,.;]|\s+(?:over|instead|rather)\b|$)", re.IGNORECASE
)
_CHECK_MARKS = re.compile(r"^(?:✅|✔️?|✓|☐|\[[ xX]\])\s*")
_WHEN_KEYWORDS = (
    ("custom task class", "custom_task_classes"),
    ("result", "results"),
    ("periodic", "beat"),
    ("beat", "beat"),
    ("schedul", "beat"),
    ("transaction", "transactions"),
    ("signal", "signals"),
)
_CONDITIONAL_QUESTION = re.compile(r"^(?P<condition>(?:if|when|only)\b[^:\"“]*):\s*(?P<question>.+)$", re.I)
_QUESTION_WHEN = (  # conditions on what discovery found, e.g. "If `.delay()` runs inside a transaction"
    ("delay", "unsafe_dispatch"),
    ("dispatch", "unsafe_dispatch"),
    ("transaction", "unsafe_dispatch"),
    ("setting name", "old_settings"),
    ("deprecated", "old_settings"),
    ("lacks", "missing_packages"),
)


class DefinitionError(ValueError):
    """A definition that cannot be loaded; the message names the file, the line, the problem and the fix."""

    def __init__(self, path: Path | str, line: int, problem: str, fix: str) -> None:
        super().__init__(f"{path}:{line}: {problem}. {fix}")
        self.path = Path(path)
        self.line = line


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Directive(_Frozen):
    kind: Literal["skill", "slash_command", "web_fetch"]
    target: str  # "celery:framework-integrations" | "/celery:setup $ARGUMENTS" | a URL
    condition: str | None  # the prose lead-in, e.g. "If result storage needed"; None = unconditional
    when: str | None  # normalised key the runtime evaluates ("results", "beat", ...); None = always
    line: int  # 1-based line in the file


class PhaseSpec(_Frozen):
    number: int
    key: Phase
    title: str
    body: str  # the section's markdown, without its heading
    directives: list[Directive]


class DecisionOption(_Frozen):
    name: str
    description: str
    recommended: bool


class DecisionSpec(_Frozen):
    key: str  # "result_backend" | "periodic_tasks" | "dispatch", or a slug of an unknown heading
    title: str
    options: list[DecisionOption]


class QuestionSpec(_Frozen):
    key: str  # "task_apps" | "beat" | "result_backend" | "queues" | ..., or a slug of an unknown question
    text: str
    line: int
    phase: Phase = "discovery"  # the phase whose section lists it (discovery or analysis)
    when: str | None = None  # its normalised condition ("unsafe_dispatch", "old_settings"); None = always


class AgentDefinition(_Frozen):
    path: Path
    name: str
    description: str
    model: str | None
    color: str | None
    tools: list[str]  # allow rules from `tools` / `allowed-tools`; every known tool when neither is given
    disallowed_tools: list[str]
    skills: list[str]
    max_turns: int | None
    permission_mode: str | None
    body: str  # the markdown body as written
    system_prompt: str  # the body with every `@path` include replaced by the included text
    includes: list[Path]
    phases: list[PhaseSpec]  # discovery, analysis, planning, implementation, verification
    skill_mentions: list[str]
    slash_commands: list[str]
    questions: list[QuestionSpec]
    decisions: list[DecisionSpec]
    checklist: list[str]

    def phase(self, key: Phase) -> PhaseSpec:
        return next(phase for phase in self.phases if phase.key == key)


class _Line(BaseModel):
    number: int  # 1-based line in the file
    text: str
    fenced: bool  # a fence delimiter or inside a fence: never a heading, include or bullet


class _Section(BaseModel):
    title: str
    line: int
    lines: list[_Line]  # everything after the heading up to the next heading of the same or higher level


def load_definition(path: Path, project_root: Path | None = None) -> AgentDefinition:
    """Read and validate a definition; includes resolve beside the file, in the project, then in prompts/."""
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    frontmatter, body, body_line = _split_frontmatter(path, text)
    meta = _read_frontmatter(path, frontmatter)
    includes: list[Path] = []
    system_prompt = _expand_includes(path, body, body_line, project_root, (path.resolve(),), includes)
    lines = _scan(body, body_line)
    sections = _sections(lines, 2)
    phase_sections = _phase_sections(path, sections, body_line)
    phases = [
        _phase(section, match, key) for (section, match), key in zip(phase_sections, PHASES, strict=True)
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
        skill_mentions=_unique(m["a"] or m["b"] for m in _SKILL_MENTION.finditer(body)),
        slash_commands=_unique([*_SLASH_MENTION.findall(body), *directive_commands]),
        questions=_questions([(PHASES[i], section) for i, (section, _) in enumerate(phase_sections[:2])]),
        decisions=_decisions(sections),
        checklist=_checklist(sections),
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
    for line in _scan(text, first_line, keepends=True):
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


# ---- markdown structure ---------------------------------------------------------------------------------


def _scan(text: str, first_line: int, keepends: bool = False) -> list[_Line]:
    lines, fenced = [], False
    for offset, raw in enumerate(text.splitlines(keepends=keepends)):
        is_fence = _FENCE.match(raw) is not None
        lines.append(_Line(number=first_line + offset, text=raw, fenced=fenced or is_fence))
        fenced = fenced != is_fence
    return lines


def _heading(line: _Line) -> tuple[int, str] | None:
    match = None if line.fenced else _HEADING.match(line.text)
    return (len(match[1]), match[2]) if match else None


def _sections(lines: list[_Line], level: int) -> list[_Section]:
    sections: list[_Section] = []
    for index, line in enumerate(lines):
        heading = _heading(line)
        if heading is None or heading[0] != level:
            continue
        end = next(
            (j for j in range(index + 1, len(lines)) if (h := _heading(lines[j])) and h[0] <= level),
            len(lines),
        )
        sections.append(_Section(title=heading[1], line=line.number, lines=lines[index + 1 : end]))
    return sections


def _find(sections: list[_Section], *keywords: str) -> _Section | None:
    return next((s for s in sections if any(k in s.title.lower() for k in keywords)), None)


def _bullets(section: _Section) -> list[tuple[str, _Line]]:
    """(text, line) of every bullet outside fences."""
    return [
        (m[2].strip(), line) for line in section.lines if not line.fenced and (m := _BULLET.match(line.text))
    ]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))


# ---- phases and directives ------------------------------------------------------------------------------


def _phase_sections(path: Path, sections: list[_Section], body_line: int) -> list[tuple[_Section, re.Match]]:
    """The five `### N. Title` sections under the approach heading, in order."""
    numbered = [s for s in sections if any(_PHASE_TITLE.match(sub.title) for sub in _sections(s.lines, 3))]
    approach = next(
        (s for s in numbered if re.search(r"approach|workflow|process|phases", s.title, re.I)), None
    )
    approach = approach or (numbered[0] if numbered else None)
    if approach is None:
        raise DefinitionError(
            path,
            body_line,
            "the body has no approach section with numbered phases",
            "Add `## Project Approach` with five sections `### 1. Discovery ...` to `### 5. Verification`",
        )
    subsections = [(s, m) for s in _sections(approach.lines, 3) if (m := _PHASE_TITLE.match(s.title))]
    numbers = [int(m[1]) for _, m in subsections]
    if numbers != [1, 2, 3, 4, 5]:
        wrong = next(
            (s.line for (s, _), n in zip(subsections, numbers, strict=False) if n not in (1, 2, 3, 4, 5)),
            None,
        )
        raise DefinitionError(
            path,
            wrong or approach.line,
            f"'## {approach.title}' has {len(numbers)} numbered phase sections "
            f"({', '.join(map(str, numbers)) or 'none'}); exactly five are needed, numbered 1 to 5",
            "Give it `### 1.` discovery, `### 2.` analysis, `### 3.` planning, `### 4.` implementation and "
            "`### 5.` verification sections, in that order",
        )
    return subsections


def _phase(section: _Section, match: re.Match[str], key: Phase) -> PhaseSpec:
    return PhaseSpec(
        number=int(match[1]),
        key=key,
        title=match[2].strip(),
        body="\n".join(line.text for line in section.lines).strip("\n"),
        directives=_directives(section),
    )


def _directives(section: _Section) -> list[Directive]:
    """Directives with their conditions: a bullet's own lead-in, else its nearest conditional parent
    bullet's; in a fence, the conditional bold lead-in before it, else the bullet it is indented under."""
    directives: list[Directive] = []
    parents: list[tuple[int, str | None]] = []  # (indent, conditional lead-in) of enclosing bullets
    lead_in: str | None = None  # conditional bold lead-in (`**If ...:**`) of the next fence
    for line in section.lines:
        indent = len(line.text.expandtabs(4)) - len(line.text.expandtabs(4).lstrip())
        inherited = next((cond for parent, cond in reversed(parents) if cond and parent < indent), None)
        bullet = None if line.fenced else _BULLET.match(line.text)
        if bullet:
            text = bullet[2]
            while parents and parents[-1][0] >= indent:
                parents.pop()
            for match in _DIRECTIVE.finditer(text):
                own = _lead_in(text[: match.start()])
                directives.append(_directive(match, own if own else inherited, line.number))
            lead_in = None
            own_lead = _lead_in(text) if text.rstrip().endswith(":") else None
            parents.append((indent, own_lead if own_lead and _CONDITION_WORDS.match(own_lead) else None))
        elif line.fenced:
            condition = lead_in or inherited
            directives.extend(_directive(m, condition, line.number) for m in _DIRECTIVE.finditer(line.text))
        elif line.text.strip():
            if not line.text[:1].isspace():  # a new paragraph, not a bullet's continuation line
                parents.clear()
            for match in _DIRECTIVE.finditer(line.text):
                directives.append(_directive(match, _lead_in(line.text[: match.start()]), line.number))
            stripped = _lead_in(re.sub(r"\*\*|__", "", line.text))
            lead_in = stripped if stripped and _CONDITION_WORDS.match(stripped) else None
    return directives


def _lead_in(text: str) -> str | None:
    """A directive's prose lead-in ("If result storage needed:" -> the condition), or None."""
    cleaned = text.strip().strip("`").strip()
    if not cleaned:
        return None
    if cleaned.endswith(":") or _CONDITION_WORDS.match(cleaned):
        return cleaned.rstrip(":").strip() or None
    return None


def _directive(match: re.Match[str], condition: str | None, line: int) -> Directive:
    if match["skill"]:
        kind, target = "skill", match["skill"]
    elif match["command"]:
        kind, target = "slash_command", match["command"]
    else:
        kind, target = "web_fetch", match["url"].rstrip(".,;:")
    return Directive(kind=kind, target=target, condition=condition, when=_when(condition), line=line)


def _when(condition: str | None) -> str | None:
    """Normalise a condition by keywords; "For ..." purposes and "as needed" mean always (None)."""
    if condition is None:
        return None
    lowered = condition.lower()
    if lowered.startswith("for ") or "as needed" in lowered:
        return None
    key = next((key for keyword, key in _WHEN_KEYWORDS if keyword in lowered), None)
    return key or _slug(re.sub(r"^(?:(?:if|when|unless|only|in case|where)\s+)+", "", lowered))


# ---- questions, decisions, checklist --------------------------------------------------------------------


def _questions(sections: list[tuple[Phase, _Section]]) -> list[QuestionSpec]:
    """Questions of the discovery and analysis phases: bullets (quoted or not) that end with a question
    mark, optionally after a condition on what discovery found (`If ... were found: "...?"`)."""
    questions = []
    for phase, section in sections:
        for text, line in _bullets(section):
            conditional = _CONDITIONAL_QUESTION.match(text)
            question = (conditional["question"] if conditional else text).strip("\"'“”`*").strip()
            if question.endswith("?"):
                when = _question_when(conditional["condition"]) if conditional else None
                key = _question_key(question)
                questions.append(
                    QuestionSpec(key=key, text=question, line=line.number, phase=phase, when=when)
                )
    return questions


def _question_when(condition: str) -> str:
    lowered = condition.lower()
    return next((key for word, key in _QUESTION_WHEN if word in lowered), _slug(lowered))


def _question_key(text: str) -> str:
    lowered = text.lower()
    keyed = (("queue", "queues"), ("rename", "rename_settings"), ("rewrite", "rewrite_dispatch"))
    for word, key in (*keyed, ("install", "install_deps")):
        if word in lowered:
            return key
    if any(word in lowered for word in ("periodic", "beat", "schedul")):
        return "beat"
    if any(word in lowered for word in ("result", "backend")):
        return "result_backend"
    if "app" in lowered or "task" in lowered:
        return "task_apps"
    return _slug(text)


def _decisions(sections: list[_Section]) -> list[DecisionSpec]:
    framework = _find(sections, "decision", "choice", "option")
    if framework is None:
        return []
    communication = _find(sections, "communication", "tone", "style")
    phrases = [
        phrase.lower()
        for line in (communication.lines if communication else [])
        for phrase in _RECOMMEND_PHRASE.findall(line.text)
    ]
    decisions = []
    for sub in _sections(framework.lines, 3):
        options = []
        for text, _line in _bullets(sub):
            match = re.match(r"^\*\*(.+?)\*\*\s*[:\-–—]?\s*(.*)$", text)
            if match is None:
                continue
            name = match[1].strip().rstrip(":").strip()
            description = match[2].strip()
            base = re.sub(r"\s*\(.*?\)", "", name).strip().lower()
            recommended = bool(_RECOMMENDED.search(description)) or any(base and base in p for p in phrases)
            options.append(DecisionOption(name=name, description=description, recommended=recommended))
        decisions.append(DecisionSpec(key=_decision_key(sub.title), title=sub.title, options=options))
    return decisions


def _decision_key(title: str) -> str:
    lowered = title.lower()
    if any(word in lowered for word in ("periodic", "beat", "schedul")):
        return "periodic_tasks"
    if "result" in lowered or "backend" in lowered:
        return "result_backend"
    if "dispatch" in lowered or "transaction" in lowered:
        return "dispatch"
    return _slug(title)


def _checklist(sections: list[_Section]) -> list[str]:
    section = _find(sections, "checklist")
    return [_CHECK_MARKS.sub("", text).strip() for text, _ in _bullets(section)] if section else []
