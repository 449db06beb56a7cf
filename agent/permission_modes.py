"""Permission modes: which allowed tool calls still wait for the user's approval in an interactive run.

The definition's rules decide what may run at all (see `agent.permissions`); the mode decides, on top of
them, what runs without asking — like Claude Code's modes:

- `ask` (Claude Code's default): writes (Write, Edit, and SlashCommand, whose code-backed commands write
  files and migrate the database) and shell commands (Bash) wait for approval; reads never do.
- `accept-edits`: writes run without asking; shell commands still wait.
- `bypass`: nothing waits (the default of `run`, of evals and of supervisors: nobody is there to answer).

A definition's own `ask` rules wait for approval in every mode — the author asked for consent for exactly
those calls — and `deny` rules refuse in every mode. A run that is not interactive cannot ask, so an ask
rule refuses there and the mode changes nothing.

Answers: `yes` (the default), `no` (optionally with a note for the model, e.g. "no, use Edit instead"),
or `always`, which approves this call and every later call of the same scope in this run (all writes, all
commands, or everything one ask rule covers).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from agent.approval_preview import preview
from agent.config import PermissionModeName
from agent.permissions import Permissions

EDIT_TOOLS = frozenset({"Write", "Edit", "SlashCommand"})
COMMAND_TOOLS = frozenset({"Bash"})
APPROVAL = "approval"  # the `kind` of an approval interrupt's payload (a question's payload has none)
APPROVE, DECLINE, ALWAYS = "yes", "no", "always"


class PermissionMode(ABC):
    name: PermissionModeName

    @abstractmethod
    def asks_for(self, tool: str) -> bool:
        """Whether an allowed call of `tool` waits for the user's approval."""


class AskMode(PermissionMode):
    name = "ask"

    def asks_for(self, tool: str) -> bool:
        return tool in EDIT_TOOLS or tool in COMMAND_TOOLS


class AcceptEditsMode(PermissionMode):
    name = "accept-edits"

    def asks_for(self, tool: str) -> bool:
        return tool in COMMAND_TOOLS


class BypassMode(PermissionMode):
    name = "bypass"

    def asks_for(self, tool: str) -> bool:
        return False


MODES: dict[str, PermissionMode] = {mode.name: mode for mode in (AskMode(), AcceptEditsMode(), BypassMode())}
# A definition's `permissionMode` (Claude Code's names) in ours; plan and dontAsk have no equivalent here.
DEFINITION_MODES: dict[str, PermissionModeName] = {
    "default": "ask",
    "acceptEdits": "accept-edits",
    "bypassPermissions": "bypass",
}


def effective_mode(
    requested: PermissionModeName | None, definition_mode: str | None, default: PermissionModeName
) -> PermissionModeName:
    """The mode asked for (--permission-mode), else the definition's `permissionMode`, else `default`."""
    return requested or DEFINITION_MODES.get(definition_mode or "", default)


def scope_of(tool: str, rule: str | None) -> str:
    """What an `always` answer covers: the ask rule that matched, else all writes or all commands."""
    if rule is not None:
        return f"rule {rule}"
    return "writes" if tool in EDIT_TOOLS else "commands"


def approval_request(
    call: dict[str, Any], permissions: Permissions, mode: PermissionMode, context: Any, always: set[str]
) -> dict[str, Any] | None:
    """The interrupt payload asking to approve `call`, or None when it runs (or is refused) without asking.

    `context` is the phase's ToolContext (for previews); `always` holds the scopes already approved.
    """
    name, args = call["name"], call.get("args") or {}
    decision = permissions.check(name, args)
    if decision.needs_approval:
        reason = f"the definition's ask rule {decision.rule} requires your approval"
        scope = scope_of(name, decision.rule)
    elif decision.allowed and mode.asks_for(name):
        scope = scope_of(name, None)
        reason = f"permission mode {mode.name}: {scope} need your approval"
    else:
        return None
    if scope in always:
        return None
    title, detail = preview(name, args, context)
    return {
        "kind": APPROVAL,
        "tool": name,
        "title": title,
        "preview": detail,
        "reason": reason,
        "scope": scope,
        "options": [APPROVE, DECLINE, ALWAYS],
        "default": APPROVE,
    }


@dataclass(frozen=True)
class ApprovalAnswer:
    approved: bool
    always: bool = False
    note: str = ""  # what the user said along with a refusal, passed on to the model


def read_approval(answer: str) -> ApprovalAnswer:
    """'', y, yes, ok -> approve; a, always -> approve this scope for the rest of the run; anything else
    refuses, and text other than a plain no is the user's note to the model."""
    text = answer.strip()
    word = text.lower()
    if word in ("", "y", "yes", "ok", "approve"):
        return ApprovalAnswer(approved=True)
    if word in ("a", "always"):
        return ApprovalAnswer(approved=True, always=True)
    if word in ("n", "no", "deny", "decline"):
        return ApprovalAnswer(approved=False)
    note = text[3:].strip() if word.startswith(("no,", "no ")) else text
    return ApprovalAnswer(approved=False, note=note)
