"""Find secrets in text the integration wrote: passwords inside URLs and real-looking keys or tokens.

Placeholders in the seed's format (`mysite_dev_your_key_here`) and templated values (`${VAR}`, `<...>`) are
not secrets. Also a tiny `.gitignore` matcher, enough to tell whether `.env` is ignored and `.env.example`
is not.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fnmatch import fnmatch

URL_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]*:([^\s@/'\"]+)@", re.IGNORECASE)
KEY_PATTERNS = (
    ("an OpenAI-style API key", re.compile(r"\bsk-[A-Za-z0-9_-]{20,}")),
    ("an AWS access key id", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
)
LONG_TOKEN = re.compile(r"[A-Za-z0-9+/_-]{32,}={0,2}")
# `DB_PASSWORD = "..."`, `"api_key": '...'`, `SECRET_KEY=...`: a literal given to a name that says it is secret.
SECRET_ASSIGNMENT = re.compile(
    r"""\b[\w-]*(?:secret|passw(?:or)?d|token|api_?key|private_?key|access_?key)[\w-]*["']?\s*[:=]\s*"""
    r"""["']?([^\s"'#,;)]{10,})""",
    re.IGNORECASE,
)
MIN_ENTROPY_BITS = 3.0  # per character; English words and names stay below, generated values above


def is_placeholder(value: str) -> bool:
    lowered = value.lower()
    return ("your_" in lowered and "_here" in lowered) or any(m in value for m in ("${", "<", "%(", "{"))


def _entropy(value: str) -> float:
    counts = [value.count(c) for c in set(value)]
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts)


def _high_entropy_secret(value: str) -> bool:
    """A value of a secret-named variable that looks generated: varied characters, not a reference to code
    or the environment (`os.environ[...]`, `env(...)`, a dotted name) and not a placeholder."""
    classes = sum(any(test(c) for c in value) for test in (str.islower, str.isupper, str.isdigit))
    code_like = "(" in value or "[" in value or value.replace("_", "").replace(".", "").isalpha()
    return (
        classes >= 2 and not code_like and not is_placeholder(value) and _entropy(value) >= MIN_ENTROPY_BITS
    )


def secret_assignment(line: str) -> bool:
    """A random-looking literal given to a secret-named variable (`DB_PASSWORD = "Xk9mQ2vL7pR4nT1"`).

    The secret guard refuses such a line when the model adds it; it is not part of `scan_line`, which also
    judges the files a project already had, where a sample value in `.env.example` is the user's call."""
    return any(_high_entropy_secret(value) for value in SECRET_ASSIGNMENT.findall(line))


def _looks_random(token: str) -> bool:
    """Hex, or mixed upper/lower case with digits: how generated keys look (names and words do not)."""
    has_digit = any(c.isdigit() for c in token)
    if re.fullmatch(r"[0-9a-fA-F]+", token):
        return has_digit and any(c.isalpha() for c in token)
    return has_digit and any(c.islower() for c in token) and any(c.isupper() for c in token)


@dataclass
class Finding:
    where: str  # "path:line"
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def scan_line(line: str) -> list[str]:
    """What in this line looks like a secret (empty when nothing does)."""
    found = []
    for match in URL_PASSWORD.finditer(line):
        if not is_placeholder(match.group(1)):
            found.append("a password inside a URL")
    for label, pattern in KEY_PATTERNS:
        if any(not is_placeholder(m.group(0)) for m in pattern.finditer(line)):
            found.append(label)
    if not found:
        tokens = [t for t in LONG_TOKEN.findall(line) if _looks_random(t) and not is_placeholder(t)]
        if tokens:
            found.append(f"a long random-looking token ({tokens[0][:6]}...)")

    return found


def scan_text(rel: str, text: str, only_lines: set[int] | None = None) -> list[Finding]:
    """Findings in `text`, limited to the 1-based line numbers in `only_lines` when given."""
    findings = []
    for number, line in enumerate(text.splitlines(), start=1):
        if only_lines is not None and number not in only_lines:
            continue
        findings.extend(Finding(f"{rel}:{number}", what) for what in scan_line(line))
    return findings


def added_lines(original: str, current: str) -> set[int]:
    """Line numbers of `current` whose text was not in `original` (what a run wrote)."""
    before = set(original.splitlines())
    return {n for n, line in enumerate(current.splitlines(), start=1) if line not in before}


def gitignore_ignores(text: str, name: str) -> bool:
    """Whether a root-level file `name` is ignored by these .gitignore rules (last matching rule wins)."""
    ignored = False
    for raw in text.splitlines():
        rule = raw.strip()
        if not rule or rule.startswith("#"):
            continue
        negated = rule.startswith("!")
        pattern = rule[1:] if negated else rule
        pattern = pattern.removeprefix("**/").lstrip("/").rstrip("/")
        if "/" not in pattern and fnmatch(name, pattern):
            ignored = not negated
    return ignored
