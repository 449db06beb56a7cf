"""Split a shell command line into the simple commands a permission rule is matched against.

`ls && rm -rf /` is two commands and each must be allowed on its own. Quoting is respected (an `&&` inside
a string is not a separator), the commands inside `$(...)` and backticks count as parts, heredoc bodies
stay with their command, redirections such as `2>&1` and `&>` are not separators, and shell keywords
(`if`, `then`, `fi`, …) are dropped. Each part is returned with its wrappers (`timeout N`, `nice`, `nohup`,
leading `VAR=value` assignments) stripped, because a rule names the command, not how it is launched.
"""

from __future__ import annotations

import re

_HEREDOC = re.compile(r"<<-?\s*(['\"]?)(?P<word>[A-Za-z0-9_.-]+)\1")
_WRAPPER = re.compile(
    r"^(?:[A-Za-z_][A-Za-z0-9_]*=(?:'[^']*'|\"(?:[^\"\\]|\\.)*\"|[^\s'\"])*\s+"  # VAR=value
    r"|timeout(?:\s+(?:--[a-z-]+(?:=\S+)?|-[sk]\s*\S+|-v))*\s+\d+(?:\.\d+)?[smhd]?\s+"
    r"|nice(?:\s+(?:-n\s*-?\d+|--adjustment=-?\d+|-\d+))?\s+"
    r"|nohup\s+"
    r"|(?:if|then|elif|else|while|until|do|!)\s+)",
    re.DOTALL,
)
_CLOSING_KEYWORDS = frozenset({"fi", "done", "esac", "then", "do", "else"})


def split_command(command: str) -> list[str]:
    """The simple commands a shell command line runs, each with its wrappers stripped.

    Splits on `&&`, `||`, `;`, `|`, `&` and newlines outside quotes (`2>&1` and `&>` are redirections, not
    separators); the commands inside `$(...)` and backticks are parts too; a heredoc body stays with its
    command. Subshell parentheses and shell keywords (`if`, `do`, `fi`, ...) are dropped.
    """
    parts: list[str] = []
    current: list[str] = []
    heredocs: list[str] = []
    quote: str | None = None
    index = 0

    def flush() -> None:
        parts.append("".join(current))
        current.clear()

    while index < len(command):
        char = command[index]
        if quote == "'":
            quote = None if char == "'" else quote
        elif char == "\\":
            current.append(command[index : index + 2])
            index += 2
            continue
        elif command.startswith("$((", index):  # arithmetic, not a command
            end = _substitution_end(command, index)
            current.append(command[index : end + 1])
            index = end + 1
            continue
        elif char == "`" or command.startswith("$(", index):
            end = _substitution_end(command, index)
            parts.extend(split_command(command[index + (1 if char == "`" else 2) : end]))
            current.append(command[index : end + 1])
            index = end + 1
            continue
        elif quote == '"':
            quote = None if char == '"' else quote
        elif char in "'\"":
            quote = char
        elif command.startswith("<<<", index):  # a here-string, not a heredoc
            current.append("<<<")
            index += 3
            continue
        elif heredoc := _HEREDOC.match(command, index):
            heredocs.append(heredoc["word"])
            current.append(heredoc.group())
            index = heredoc.end()
            continue
        elif char == "\n" and heredocs:
            end = _heredoc_end(command, index, heredocs)
            current.append(command[index:end])
            heredocs.clear()
            flush()
            index = end
            continue
        elif separator := _separator_at(command, index):
            flush()
            index += len(separator)
            continue
        current.append(char)
        index += 1
    flush()
    simple = (_strip_wrappers(_strip_grouping(part)) for part in parts)
    return [part for part in simple if part and part not in _CLOSING_KEYWORDS]


def _separator_at(command: str, index: int) -> str | None:
    previous = command[index - 1] if index else ""
    for separator in ("&&", "||", "|&", ";;", ";", "\n"):
        if command.startswith(separator, index):
            return separator
    if command[index] == "|" and previous != ">":  # `>|` is a redirection
        return "|"
    if command[index] == "&" and previous not in ("<", ">") and command[index + 1 : index + 2] != ">":
        return "&"
    return None


def _substitution_end(command: str, start: int) -> int:
    """Index of the backtick or parenthesis closing the substitution opened at `start` (len if unclosed)."""
    index = start + 1
    if command[start] == "`":
        while index < len(command) and command[index] != "`":
            index += 2 if command[index] == "\\" else 1
        return min(index, len(command))
    depth, quote = 0, None
    while index < len(command):
        char = command[index]
        if char == "\\" and quote != "'":
            index += 2
            continue
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return len(command)


def _heredoc_end(command: str, newline: int, words: list[str]) -> int:
    """Index just past the last heredoc terminator line that follows the newline at `newline`."""
    index = newline + 1
    for word in words:
        while index < len(command):
            line_end = command.find("\n", index)
            line_end = len(command) if line_end == -1 else line_end
            line, index = command[index:line_end], line_end + 1
            if line.strip() == word:
                break
    return min(index, len(command))


def _strip_grouping(part: str) -> str:
    part = part.strip()
    while part[:1] in ("(", "{"):
        part = part[1:].strip()
    while part.endswith((")", "}")) and part.count(")") + part.count("}") > part.count("(") + part.count("{"):
        part = part[:-1].strip()
    return part


def _strip_wrappers(part: str) -> str:
    while match := _WRAPPER.match(part):
        part = part[match.end() :]
    return part.strip()


# ---- the rule set ---------------------------------------------------------------------------------------
