"""The markdown body of an agent definition: phases and their directives, questions, decisions, checklist.

Parsing goes by structure and keywords, not by exact wording, so the seed and our own definition (same
format, different words) load alike.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agent.checklist import Phase
from agent.definition_models import (
    DecisionOption,
    DecisionSpec,
    DefinitionError,
    Directive,
    PhaseSpec,
    QuestionSpec,
)

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)(?:[-*+]|\d+[.)])\s+(.*)$")
_PHASE_TITLE = re.compile(r"^(\d+)[.)]\s*(.+)$")
SKILL_NAME = r"[\w.-]+(?::[\w.-]+)?"
_DIRECTIVE = re.compile(
    rf"Skill\(\s*(?P<skill>{SKILL_NAME})\s*\)"
    r"|SlashCommand\(\s*(?P<command>/[^)]*?)\s*\)"
    r"|WebFetch(?:\(\s*|:?\s*)<?(?P<url>https?://[^\s<>()`\"']+)"
)
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
    ("written in the settings", "literal_urls"),
    ("password", "url_passwords"),
    ("eager", "eager_settings"),
)


class Line(BaseModel):
    number: int  # 1-based line in the file
    text: str
    fenced: bool  # a fence delimiter or inside a fence: never a heading, include or bullet


class Section(BaseModel):
    title: str
    line: int
    lines: list[Line]  # everything after the heading up to the next heading of the same or higher level


# ---- markdown structure ---------------------------------------------------------------------------------


def scan_lines(text: str, first_line: int, keepends: bool = False) -> list[Line]:
    lines, fenced = [], False
    for offset, raw in enumerate(text.splitlines(keepends=keepends)):
        is_fence = _FENCE.match(raw) is not None
        lines.append(Line(number=first_line + offset, text=raw, fenced=fenced or is_fence))
        fenced = fenced != is_fence
    return lines


def _heading(line: Line) -> tuple[int, str] | None:
    match = None if line.fenced else _HEADING.match(line.text)
    return (len(match[1]), match[2]) if match else None


def sections_of(lines: list[Line], level: int) -> list[Section]:
    sections: list[Section] = []
    for index, line in enumerate(lines):
        heading = _heading(line)
        if heading is None or heading[0] != level:
            continue
        end = next(
            (j for j in range(index + 1, len(lines)) if (h := _heading(lines[j])) and h[0] <= level),
            len(lines),
        )
        sections.append(Section(title=heading[1], line=line.number, lines=lines[index + 1 : end]))
    return sections


def _find(sections: list[Section], *keywords: str) -> Section | None:
    return next((s for s in sections if any(k in s.title.lower() for k in keywords)), None)


def _bullets(section: Section) -> list[tuple[str, Line]]:
    """(text, line) of every bullet outside fences."""
    return [
        (m[2].strip(), line) for line in section.lines if not line.fenced and (m := _BULLET.match(line.text))
    ]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))


# ---- phases and directives ------------------------------------------------------------------------------


def phase_sections_of(path: Path, sections: list[Section], body_line: int) -> list[tuple[Section, re.Match]]:
    """The five `### N. Title` sections under the approach heading, in order."""
    numbered = [s for s in sections if any(_PHASE_TITLE.match(sub.title) for sub in sections_of(s.lines, 3))]
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
    subsections = [(s, m) for s in sections_of(approach.lines, 3) if (m := _PHASE_TITLE.match(s.title))]
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


def phase_spec(section: Section, match: re.Match[str], key: Phase) -> PhaseSpec:
    return PhaseSpec(
        number=int(match[1]),
        key=key,
        title=match[2].strip(),
        body="\n".join(line.text for line in section.lines).strip("\n"),
        directives=_directives(section),
    )


def _directives(section: Section) -> list[Directive]:
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


def questions_of(sections: list[tuple[Phase, Section]]) -> list[QuestionSpec]:
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
    keyed = (
        ("password", "url_passwords"),
        ("eager", "eager_mode"),
        ("queue", "queues"),
        ("rename", "rename_settings"),
        ("rewrite", "rewrite_dispatch"),
        ("from the environment", "env_urls"),
    )
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


def decisions_of(sections: list[Section]) -> list[DecisionSpec]:
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
    for sub in sections_of(framework.lines, 3):
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


def checklist_of(sections: list[Section]) -> list[str]:
    section = _find(sections, "checklist")
    return [_CHECK_MARKS.sub("", text).strip() for text, _ in _bullets(section)] if section else []
