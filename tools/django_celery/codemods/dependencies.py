"""Declare celery (and the results/beat packages) where the project keeps its dependencies.

TOML files are edited as text, line by line, so nothing else in them moves (no TOML writer reformats
the file). Lock files are never edited: the summary says which lock command to run instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tools.django_celery.codemods.workspace import ProjectEdits
from tools.django_celery.facts import ProjectFacts
from tools.django_celery.project_scan import dependency_styles

FileKind = Literal["requirements", "pep621", "poetry", "pipfile"]
LOCK_HINTS = {"poetry.lock": "poetry lock", "Pipfile.lock": "pipenv lock", "uv.lock": "uv lock"}


@dataclass
class Requirement:
    name: str
    spec: str
    extras: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return normalise(self.name)

    def pep508(self) -> str:
        extras = f"[{','.join(self.extras)}]" if self.extras else ""
        return f"{self.name}{extras}{self.spec}"

    def toml_entry(self) -> str:
        """A Poetry / Pipfile table line."""
        if not self.extras:
            return f'{self.name} = "{self.spec}"'
        extras = ", ".join(f'"{e}"' for e in self.extras)
        return f'{self.name} = {{version = "{self.spec}", extras = [{extras}]}}'


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def celery_requirement(redis: bool) -> Requirement:
    # 5.4 brings delay_on_commit(); the redis extra pins a redis client that matches the Celery release
    return Requirement("celery", ">=5.4,<6", ["redis"] if redis else [])


RESULTS_REQUIREMENT = Requirement("django-celery-results", ">=2.5")
BEAT_REQUIREMENT = Requirement("django-celery-beat", ">=2.6")


# ----- reading what is declared ------------------------------------------------------------------------
def _requirement_lines(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        line = line.split(" #")[0].strip()
        egg = re.search(r"#egg=([A-Za-z0-9._-]+)", line)
        if egg:
            names.add(normalise(egg.group(1)))
        elif line and not line.startswith(("-", "#")):
            match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)", line)
            if match:
                names.add(normalise(match.group(1)))
    return names


def _table(text: str, header: str) -> tuple[int, int] | None:
    """Character span of a TOML table's body (after its header line, up to the next header)."""
    match = re.search(rf"^\[{re.escape(header)}\][ \t]*(#.*)?$", text, re.MULTILINE)
    if match is None:
        return None
    start = match.end() + 1 if match.end() < len(text) else match.end()
    following = re.search(r"^[ \t]*\[", text[start:], re.MULTILINE)
    return start, start + following.start() if following else len(text)


def _array_span(text: str, open_at: int) -> int:
    """Index of the `]` closing the TOML array opened at `open_at` (strings and comments skipped)."""
    depth, i = 0, open_at
    while i < len(text):
        char = text[i]
        if char in "\"'":
            end = text.find(char, i + 1)
            while char == '"' and end > 0 and text[end - 1] == "\\":
                end = text.find(char, end + 1)
            i = end if end > 0 else len(text)
        elif char == "#":
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(text)


def _pep621_array(text: str) -> tuple[int, int] | None:
    """(index of `[`, index of `]`) of [project].dependencies."""
    span = _table(text, "project")
    if span is None:
        return None
    match = re.search(r"^[ \t]*dependencies[ \t]*=[ \t]*\[", text[span[0] : span[1]], re.MULTILINE)
    if match is None:
        return None
    open_at = span[0] + match.end() - 1
    return open_at, _array_span(text, open_at)


def _toml_keys(text: str, header: str) -> set[str]:
    span = _table(text, header)
    if span is None:
        return set()
    keys = re.findall(r"^[ \t]*[\"']?([A-Za-z0-9._-]+)[\"']?[ \t]*=", text[span[0] : span[1]], re.MULTILINE)
    return {normalise(k) for k in keys}


def classify(rel: str, text: str) -> FileKind | None:
    name = rel.rsplit("/", 1)[-1]
    if name.endswith(".txt"):
        return "requirements"
    if name == "Pipfile":
        return "pipfile"
    if name == "pyproject.toml":
        if _table(text, "tool.poetry.dependencies") is not None:
            return "poetry"
        span = _table(text, "project")
        if span is not None and not re.search(r"dynamic[ \t]*=[^\n]*dependencies", text[span[0] : span[1]]):
            return "pep621"
    return None


def declared(kind: FileKind, text: str) -> set[str]:
    if kind == "requirements":
        return _requirement_lines(text)
    if kind == "poetry":
        return _toml_keys(text, "tool.poetry.dependencies")
    if kind == "pipfile":
        return _toml_keys(text, "packages")
    array = _pep621_array(text)
    if array is None:
        return set()
    items = re.findall(r"[\"']([A-Za-z0-9][A-Za-z0-9._-]*)", text[array[0] : array[1]])
    return {normalise(i) for i in items}


# ----- adding ------------------------------------------------------------------------------------------
def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _append_lines(text: str, lines: list[str]) -> str:
    nl = _newline(text)
    if text and not text.endswith("\n"):
        text += nl
    return text + "".join(line + nl for line in lines)


def _add_to_table(text: str, header: str, lines: list[str]) -> str:
    span = _table(text, header)
    if span is None:
        return _append_lines(text, ["", f"[{header}]", *lines])
    body = text[span[0] : span[1]]
    content = [m for m in re.finditer(r"^[ \t]*[^\s#].*$", body, re.MULTILINE)]
    at = span[0] + (content[-1].end() + 1 if content else 0)
    nl = _newline(text)
    if at > len(text):  # last line of the file had no newline
        return text + nl + "".join(line + nl for line in lines)
    return text[:at] + "".join(line + nl for line in lines) + text[at:]


def _add_to_pep621(text: str, items: list[str]) -> str:
    nl = _newline(text)
    array = _pep621_array(text)
    if array is None:
        block = ["dependencies = [", *(f'    "{i}",' for i in items), "]"]
        return _add_to_table(text, "project", block)
    open_at, close_at = array
    inside = text[open_at + 1 : close_at]
    strings = list(re.finditer(r"\"[^\"]*\"|'[^']*'", inside))
    quote = strings[0].group(0)[0] if strings else '"'
    quoted = [f"{quote}{i}{quote}" for i in items]
    if "\n" not in inside:  # one-line array
        if not strings:
            return text[: open_at + 1] + ", ".join(quoted) + text[close_at:]
        before = text[:close_at].rstrip()
        separator = " " if before.endswith(",") else ", "
        return before + separator + ", ".join(quoted) + text[close_at:]
    indent_match = re.search(r"\n([ \t]*)[\"']", inside)
    indent = indent_match.group(1) if indent_match else "    "
    if strings:
        last_end = open_at + 1 + strings[-1].end()
        rest = re.sub(r"#[^\n]*", "", text[last_end:close_at])
        if not rest.strip().startswith(","):
            text = text[:last_end] + "," + text[last_end:]
            close_at += 1
    line_start = text.rfind("\n", 0, close_at) + 1
    new = "".join(f"{indent}{q},{nl}" for q in quoted)
    if text[line_start:close_at].strip():  # `]` shares its line with an item: put it on its own line
        return text[:close_at] + nl + new + text[close_at:]
    return text[:line_start] + new + text[line_start:]


def add_requirements(kind: FileKind, text: str, wanted: list[Requirement]) -> str:
    if kind == "requirements":
        return _append_lines(text, [r.pep508() for r in wanted])
    if kind == "pep621":
        return _add_to_pep621(text, [r.pep508() for r in wanted])
    header = "tool.poetry.dependencies" if kind == "poetry" else "packages"
    return _add_to_table(text, header, [r.toml_entry() for r in wanted])


# ----- choosing the file -------------------------------------------------------------------------------
def _priority(rel: str) -> int:
    name = rel.rsplit("/", 1)[-1]
    order = {"pyproject.toml": 0, "Pipfile": 1}
    if name in order:
        return order[name]
    if rel.startswith("requirements/") and name in ("base.txt", "common.txt"):
        return 2
    return 3 if rel == "requirements.txt" else 4


def dependency_target(edits: ProjectEdits, facts: ProjectFacts) -> tuple[str, FileKind] | None:
    """The file new dependencies belong in: the first (by convention) that declares Django, else the first."""
    # Re-scan the disk: facts may predate a file an earlier command of this run created.
    root = Path(facts.root)
    on_disk = dependency_styles(root, (root / facts.base_dir).resolve())
    candidates = []
    for rel in sorted(set(facts.dependency_files) | set(on_disk), key=lambda r: (_priority(r), r)):
        text = edits.read(rel)
        kind = classify(rel, text) if text is not None else None
        if kind is not None:
            candidates.append((rel, kind, "django" in declared(kind, text or "")))
    chosen = next((c for c in candidates if c[2]), candidates[0] if candidates else None)
    return (chosen[0], chosen[1]) if chosen else None


def ensure_dependencies(edits: ProjectEdits, facts: ProjectFacts, wanted: list[Requirement]) -> None:
    target = dependency_target(edits, facts)
    if target is None:
        major_minor = ".".join(facts.django_version.split(".")[:2])
        major, minor = (int(p) for p in major_minor.split("."))
        django = Requirement("Django", f">={major_minor},<{major}.{minor + 1}")
        text = "".join(f"{r.pep508()}\n" for r in [django, *wanted])
        edits.write("requirements.txt", text, ", ".join(r.pep508() for r in [django, *wanted]))
        return
    rel, kind = target
    text = edits.read(rel) or ""
    missing = [r for r in wanted if r.key not in declared(kind, text)]
    if not missing:
        edits.note(rel)
        return
    edits.write(rel, add_requirements(kind, text, missing), "added " + ", ".join(r.pep508() for r in missing))
    for lock, command in LOCK_HINTS.items():
        if edits.exists(lock):
            edits.warn(f"{rel} changed: run `{command}` to update {lock} (lock files are never edited here).")
