"""Permission rules, enforced at call time: the runtime decides, the prompt never has to.

Rule syntax (Claude Code's): `Tool`, `Tool(*)` (the same), `Tool(specifier)`.
- Bash: `*` globs anywhere; a trailing ` *` keeps a word boundary (`Bash(ls *)` matches `ls` and `ls -la`,
  not `lsof`); the legacy `Bash(ls:*)` means `Bash(ls *)`. A compound command (`&&`, `||`, `;`, `|`, `&`,
  newline, and the commands inside `$(...)` / backticks) is split with its quoting respected and every part
  must be allowed; each part is matched with `timeout`, `nice`, `nohup` and leading `VAR=value` stripped.
- Read/Write/Edit/Glob/Grep: gitignore-style path globs relative to the project (`./src/**`, `/src/**`,
  `*.env` at any depth); `//abs/**` and `~/x` are absolute. A pattern naming a folder covers its contents.
- WebFetch(domain:host): the host or any subdomain. Skill(ns:name) and SlashCommand(/ns:cmd *) match the
  skill name and the command line.
Order: deny, then ask, then allow; the first match wins; no match means refused. An "ask" match is refused
with `needs_approval=True` so an interactive runtime can interrupt for approval (non-interactive runs stop
there).

Directive grants (our design decision): the seed allows `Read, Write, Bash(*), Grep, Glob, Skill, TodoWrite`
yet its body prescribes `SlashCommand(/celery:setup ...)` and `WebFetch: <url>` calls. The runtime does what
the file says, so every directive in the body grants exactly that call: `SlashCommand(/x ...)` grants
`SlashCommand(/x *)`, `WebFetch: <url>` grants `WebFetch(domain:<host>)`, `Skill(x)` grants `Skill(x)`.
Grants rank with the allow rules, so they never override a deny (or ask) rule, and the decision cites the
directive's file and line. `AskUserQuestion` is runtime-owned and always allowed unless a deny rule names it.
Nothing else is implied: a definition without `Edit` cannot edit, even though the body mentions Edit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import BaseModel

from agent.shell_split import split_command

if TYPE_CHECKING:
    from agent.definition_models import AgentDefinition, Directive

KNOWN_TOOLS: tuple[str, ...] = (
    "Read",
    "Write",
    "Edit",
    "Glob",
    "Grep",
    "Bash",
    "WebFetch",
    "Skill",
    "TodoWrite",
    "SlashCommand",
    "AskUserQuestion",
)
RUNTIME_OWNED = "AskUserQuestion"
PATH_TOOLS = frozenset({"Read", "Write", "Edit", "Glob", "Grep"})
NO_SPECIFIER_TOOLS = frozenset({"TodoWrite", "AskUserQuestion"})
# What the model can use instead when a tool is refused outright (only offered when that tool is allowed).
ALTERNATIVES = {
    "Edit": "Write (send the file's full new content)",
    "Write": "Edit",
    "Glob": "Bash",
    "Grep": "Bash",
}

_RULE = re.compile(r"^\s*(?P<tool>[A-Za-z_][A-Za-z0-9_]*)\s*(?:\((?P<spec>.*)\))?\s*$", re.DOTALL)


class RuleError(ValueError):
    """A permission rule that cannot be parsed; the message says what is wrong and how to write it."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}. {fix}")
        self.problem = problem
        self.fix = fix


class PermissionDecision(BaseModel):
    allowed: bool
    reason: str  # shown to the model on refusal: which rule decided, and what to do instead
    needs_approval: bool = False  # an "ask" rule matched: an interactive runtime may ask the user
    rule: str | None = None  # the rule (or grant) that decided, None when no rule matched


@dataclass(frozen=True)
class Rule:
    text: str  # as written, e.g. "Bash(ls *)"
    tool: str
    specifier: str | None  # None: every use of the tool
    source: str  # "allow", "deny", "ask", or "the definition's directive at <file>:<line>" for a grant
    pattern: re.Pattern[str] | None = None
    absolute: bool = False  # path rules: the pattern is an absolute path (`//x`, `~/x`)

    def matches(self, subject: object) -> bool:
        if self.specifier is None:
            return True
        if self.tool in PATH_TOOLS:
            relative, absolute = subject  # type: ignore[misc]
            candidate = absolute if self.absolute else relative
            return candidate is not None and self.pattern.fullmatch(candidate) is not None
        if self.tool == "WebFetch":
            domain = self.specifier.removeprefix("domain:").lower()
            return isinstance(subject, str) and (subject == domain or subject.endswith("." + domain))
        if self.tool == "Skill" and isinstance(subject, str) and ":" not in subject:
            # An unqualified skill name is compared with the name part of the rule ("ns:name").
            return re.fullmatch(_star_glob(self.specifier.split(":")[-1]), subject) is not None
        return isinstance(subject, str) and self.pattern.fullmatch(subject) is not None


def parse_rule(text: str, source: str = "allow") -> Rule:
    """Parse one rule; raise RuleError naming the problem and the fix."""
    match = _RULE.match(text)
    if match is None:
        raise RuleError(f"cannot parse the permission rule {text!r}", "Write `Tool` or `Tool(specifier)`")
    tool, spec = match["tool"], match["spec"]
    if tool not in KNOWN_TOOLS:
        raise RuleError(
            f"unknown tool {tool!r} in the rule {text.strip()!r}",
            f"Use one of: {', '.join(KNOWN_TOOLS)} (names are case-sensitive)",
        )
    spec = None if spec is None or spec.strip() in ("", "*") else spec.strip()
    base = {"text": text.strip(), "tool": tool, "specifier": spec, "source": source}
    if spec is None:
        return Rule(**base)
    if tool in NO_SPECIFIER_TOOLS:
        raise RuleError(
            f"{tool} takes no specifier, but the rule is {text.strip()!r}", f"Write just `{tool}`"
        )
    if tool == "WebFetch":
        if not spec.startswith("domain:") or not spec.removeprefix("domain:").strip():
            raise RuleError(
                f"the WebFetch rule {text.strip()!r} does not name a domain",
                "Write `WebFetch(domain:docs.example.com)`; subdomains are included",
            )
        return Rule(
            **{**base, "specifier": "domain:" + spec.removeprefix("domain:").strip().removeprefix("*.")}
        )
    if tool in PATH_TOOLS:
        pattern, absolute = _path_pattern(spec)
        return Rule(**base, pattern=pattern, absolute=absolute)
    if tool == "Skill":
        return Rule(**base, pattern=re.compile(_star_glob(spec)))
    return Rule(**base, pattern=_command_pattern(spec))  # Bash, SlashCommand


def _star_glob(text: str) -> str:
    return ".*".join(re.escape(piece) for piece in text.split("*"))


def _command_pattern(spec: str) -> re.Pattern[str]:
    """`*` globs anywhere; a trailing ` *` (or legacy `:*`) also matches the bare command, word-bounded."""
    if spec.endswith(":*"):
        spec = spec[:-2] + " *"
    if spec.endswith(" *"):
        return re.compile(_star_glob(spec[:-2].rstrip()) + r"(?:\s.*)?", re.DOTALL)
    return re.compile(_star_glob(spec), re.DOTALL)


def _path_pattern(spec: str) -> tuple[re.Pattern[str], bool]:
    """A gitignore-style glob as a regex over project-relative (or, for `//`, `~/`, absolute) paths."""
    absolute = spec.startswith(("//", "~/"))
    if spec.startswith("//"):
        body = spec[1:]
    elif spec.startswith("~/"):
        body = os.path.expanduser(spec)
    else:
        body = spec.removeprefix("./").lstrip("/") if spec.startswith(("./", "/")) else spec
    anchored = absolute or spec.startswith(("./", "/")) or "/" in body.rstrip("/")
    body = body.rstrip("/").removesuffix("/**")
    regex, index = [], 0
    while index < len(body):
        if body.startswith("**/", index):
            regex.append("(?:.*/)?")
            index += 3
        elif body.startswith("**", index):
            regex.append(".*")
            index += 2
        elif body[index] == "*":
            regex.append("[^/]*")
            index += 1
        elif body[index] == "?":
            regex.append("[^/]")
            index += 1
        else:
            regex.append(re.escape(body[index]))
            index += 1
    prefix = "" if anchored else "(?:.*/)?"
    return re.compile(prefix + "".join(regex) + "(?:/.*)?", re.DOTALL), absolute


# ---- Bash: the simple commands a command line runs ------------------------------------------------------


def directive_grant(directive: Directive) -> str:
    """The one rule a body directive grants: exactly the call it prescribes."""
    if directive.kind == "skill":
        return f"Skill({directive.target})"
    if directive.kind == "slash_command":
        return f"SlashCommand({directive.target.split()[0]} *)"
    return f"WebFetch(domain:{urlsplit(directive.target).hostname})"


class Permissions:
    """Allow/ask/deny rules plus directive grants, checked for every tool call the model makes."""

    @classmethod
    def from_definition(cls, definition: AgentDefinition, project_root: Path | None = None) -> Permissions:
        grants = [
            (directive_grant(directive), f"{definition.path.name}:{directive.line}")
            for phase in definition.phases
            for directive in phase.directives
        ]
        return cls(definition.tools, definition.disallowed_tools, grants=grants, project_root=project_root)

    def __init__(
        self,
        allow: Iterable[str],
        deny: Iterable[str] = (),
        ask: Iterable[str] = (),
        grants: Iterable[tuple[str, str]] = (),
        project_root: Path | None = None,
    ) -> None:
        """`grants`: (rule, "file:line") pairs. `project_root` anchors path rules (None: paths as given)."""
        self._deny = [parse_rule(text, "deny") for text in deny]
        self._ask = [parse_rule(text, "ask") for text in ask]
        self._allow = [parse_rule(text, "allow") for text in allow]
        granted: dict[str, Rule] = {}
        for text, origin in grants:
            rule = parse_rule(text, f"the definition's directive at {origin}")
            granted.setdefault(rule.text, rule)
        self._grants = list(granted.values())
        self._project_root = Path(project_root).resolve() if project_root is not None else None

    def check(self, tool: str, args: dict) -> PermissionDecision:
        if tool not in KNOWN_TOOLS:
            return PermissionDecision(
                allowed=False,
                reason=f"there is no tool named {tool!r}. Available tools: {self._available()}.",
            )
        subjects = self._subjects(tool, args)
        verdicts = [(label, *self._first_match(tool, subject)) for label, subject in subjects]
        compound = (
            " (one part of a compound command; every part must be allowed)" if len(subjects) > 1 else ""
        )
        for label, kind, rule in verdicts:
            if kind == "deny":
                return PermissionDecision(
                    allowed=False,
                    rule=rule.text,
                    reason=f"{label}{compound} is refused by the deny rule {rule.text}. It is forbidden for "
                    "this agent: do not retry or work around it; leave that step to the user and say so.",
                )
        for label, kind, _rule in verdicts:
            if kind == "none":
                return PermissionDecision(
                    allowed=False, reason=f"no rule allows {label}{compound}. {self._instead(tool)}"
                )
        for label, kind, rule in verdicts:
            if kind == "ask":
                return PermissionDecision(
                    allowed=False,
                    needs_approval=True,
                    rule=rule.text,
                    reason=f"{label} needs approval: the ask rule {rule.text} requires the user's consent, "
                    "which this non-interactive run cannot get. Continue without it, or leave the step to "
                    "the user and say so.",
                )
        reasons = dict.fromkeys(self._allow_reason(rule) for _label, _kind, rule in verdicts)
        first_rule = verdicts[0][2]
        return PermissionDecision(
            allowed=True, reason="; ".join(reasons), rule=first_rule.text if first_rule else None
        )

    def allowed_tool_names(self) -> set[str]:
        """Tools the model may see at all: allowed, askable or granted, minus tools denied outright."""
        denied = {rule.tool for rule in self._deny if rule.specifier is None}
        named = {rule.tool for rule in (*self._allow, *self._ask, *self._grants)} | {RUNTIME_OWNED}
        return named - denied

    def describe(self) -> str:
        """One paragraph for the CLI and the system prompt."""
        sentences = [f"Allowed: {', '.join(self._rule_summary(rule) for rule in self._allow) or 'nothing'}."]
        if self._grants:
            grants = ", ".join(f"{rule.text} ({rule.source.rsplit(' ', 1)[-1]})" for rule in self._grants)
            sentences.append(f"Granted by the definition's directives: {grants}.")
        if self._ask:
            sentences.append(f"Needs the user's approval: {', '.join(r.text for r in self._ask)}.")
        if self._deny:
            sentences.append(f"Denied (checked first): {', '.join(r.text for r in self._deny)}.")
        sentences.append(
            f"{RUNTIME_OWNED} is always available. Anything else is refused; compound shell commands "
            "must be allowed part by part."
        )
        return " ".join(sentences)

    # -- helpers --

    def _subjects(self, tool: str, args: dict) -> list[tuple[str, object]]:
        """(label for messages, value the rules match) pairs; a Bash command gives one per part."""
        if tool == "Bash":
            parts = split_command(str(args.get("command", ""))) or [""]
            return [(f"the command `{part}`", part) for part in parts]
        if tool in PATH_TOOLS:
            default = "." if tool in ("Glob", "Grep") else ""
            raw = str(args.get("path") or args.get("file_path") or default)
            return [(f"{tool} on `{raw}`", self._path_subject(raw))]
        if tool == "WebFetch":
            url = str(args.get("url", ""))
            parsed = urlsplit(url)
            host = parsed.hostname if parsed.scheme in ("http", "https") else None
            return [(f"WebFetch of {url}", host.lower() if host else None)]
        if tool == "Skill":
            skill = str(args.get("skill") or args.get("name") or "")
            return [(f"the skill {skill!r}", skill)]
        if tool == "SlashCommand":
            command = str(args.get("command", "")).strip()
            return [(f"the slash command `{command}`", command)]
        return [(f"the {tool} tool", None)]

    def _path_subject(self, raw: str) -> tuple[str | None, str | None]:
        """(project-relative POSIX path or None when outside the project, absolute path or None)."""
        path, root = Path(os.path.expanduser(raw)), self._project_root
        if root is not None:
            absolute = os.path.normpath(root / path)  # an absolute `path` replaces `root`
            relative = Path(os.path.relpath(absolute, root)).as_posix()
        elif path.is_absolute():
            absolute, relative = os.path.normpath(path), None
        else:
            absolute, relative = None, Path(os.path.normpath(path)).as_posix()
        if relative is not None and (relative == ".." or relative.startswith("../")):
            relative = None
        return relative, absolute

    def _first_match(self, tool: str, subject: object) -> tuple[str, Rule | None]:
        for kind, rules in (
            ("deny", self._deny),
            ("ask", self._ask),
            ("allow", [*self._allow, *self._grants]),
        ):
            for rule in rules:
                if rule.tool == tool and rule.matches(subject):
                    return kind, rule
        if tool == RUNTIME_OWNED:
            return "runtime", None
        return "none", None

    @staticmethod
    def _allow_reason(rule: Rule | None) -> str:
        if rule is None:
            return f"{RUNTIME_OWNED} is runtime-owned and always allowed"
        if rule.source == "allow":
            return f"allowed by the rule {rule.text}"
        return f"{rule.text} granted by {rule.source}"

    def _instead(self, tool: str) -> str:
        available = self.allowed_tool_names()
        if tool in available:
            rules = [rule.text for rule in (*self._allow, *self._grants) if rule.tool == tool]
            return f"The {tool} rules this agent has: {', '.join(rules)}; make a call one of them covers."
        alternative = ALTERNATIVES.get(tool)
        hint = f" Use {alternative} instead." if alternative and alternative.split()[0] in available else ""
        return f"The {tool} tool is not available to this agent.{hint} Available tools: {self._available()}."

    def _available(self) -> str:
        return ", ".join(sorted(self.allowed_tool_names()))

    @staticmethod
    def _rule_summary(rule: Rule) -> str:
        if rule.specifier is not None:
            return rule.text
        return {"Bash": "Bash (any command)", "Skill": "Skill (any skill)"}.get(rule.tool, rule.tool)
