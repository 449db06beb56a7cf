"""The agent-definition loader against the seed (unchanged), a variant in other words, and broken files."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.definition import AgentDefinition, DefinitionError, load_definition
from agent.resources import DEFAULT_DEFINITION, PROMPTS_DIR

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "django-integrator.md"
VARIANT = Path(__file__).parent / "fixtures" / "definitions" / "variant" / "agent.md"
SECURITY_INCLUDE = Path("docs") / "security" / "SECURITY-RULES.md"


def placeholder_project(root: Path) -> Path:
    """A project root holding a stand-in for the seed's security include (never written into prompts/)."""
    rules = root / SECURITY_INCLUDE
    rules.parent.mkdir(parents=True)
    rules.write_text("PLACEHOLDER SECURITY RULES for the loader test\n", encoding="utf-8")
    return root


@pytest.fixture
def seed(tmp_path: Path) -> AgentDefinition:
    if not SEED.is_file():
        pytest.skip(f"the seed definition is not beside the clone at {SEED}")
    return load_definition(SEED, project_root=placeholder_project(tmp_path / "project"))


def directive_summary(definition: AgentDefinition, phase: str) -> list[tuple[str, str, str | None]]:
    return [(d.kind, d.target, d.when) for d in definition.phase(phase).directives]


def test_seed_frontmatter(seed: AgentDefinition) -> None:
    assert seed.name == "django-integrator"
    assert seed.description == "Integrate Celery with Django projects"
    assert (seed.model, seed.color) == ("haiku", "green")
    assert seed.tools == ["Read", "Write", "Bash(*)", "Grep", "Glob", "Skill", "TodoWrite"]
    assert seed.disallowed_tools == [] and seed.skills == []
    assert seed.max_turns is None and seed.permission_mode is None


def test_seed_has_five_phases_in_order(seed: AgentDefinition) -> None:
    assert [(p.number, p.key, p.title) for p in seed.phases] == [
        (1, "discovery", "Discovery & Core Documentation"),
        (2, "analysis", "Analysis & Package-Specific Documentation"),
        (3, "planning", "Planning & Integration Design"),
        (4, "implementation", "Implementation & Configuration"),
        (5, "verification", "Verification"),
    ]
    assert seed.phase("verification").body.startswith("- Verify celery.py imports Django settings correctly")
    assert "## Decision-Making Framework" not in seed.phase("verification").body


def test_seed_directives_per_phase(seed: AgentDefinition) -> None:
    celery_docs = "https://docs.celeryq.dev/en/stable"
    assert directive_summary(seed, "discovery") == [
        ("web_fetch", f"{celery_docs}/django/first-steps-with-django.html", None),
        ("web_fetch", f"{celery_docs}/userguide/configuration.html", None),
        ("skill", "celery:framework-integrations", None),
    ]
    assert [d.condition for d in seed.phase("discovery").directives] == [None, None, None]
    analysis = seed.phase("analysis").directives
    assert [(d.kind, d.when, d.line) for d in analysis] == [
        ("web_fetch", "results", 89),
        ("web_fetch", "beat", 90),
        ("web_fetch", "transactions", 91),
        ("slash_command", None, 97),
    ]
    assert analysis[0].condition == "If result storage needed"
    assert analysis[2].target == f"{celery_docs}/userguide/calling.html#database-transactions"
    assert analysis[3].target == "/celery:setup $ARGUMENTS"
    assert [(d.when, d.condition) for d in seed.phase("planning").directives] == [
        ("custom_task_classes", "If custom task classes needed"),
        ("signals", "If signal handling needed"),
    ]
    implementation = seed.phase("implementation").directives
    assert [(d.kind, d.when) for d in implementation] == [
        ("web_fetch", None),
        ("web_fetch", None),
        ("slash_command", None),
    ]
    assert implementation[0].condition == "For celery.py setup"
    assert implementation[2].target == "/celery:add-backend django-db"
    assert seed.phase("verification").directives == []


def test_seed_questions_decisions_checklist(seed: AgentDefinition) -> None:
    assert [(q.key, q.line) for q in seed.questions] == [
        ("task_apps", 74),
        ("beat", 75),
        ("result_backend", 76),
    ]
    assert seed.questions[0].text == "Which Django apps will contain Celery tasks?"
    assert [d.key for d in seed.decisions] == ["result_backend", "periodic_tasks", "dispatch"]
    recommended = {d.key: [o.name for o in d.options if o.recommended] for d in seed.decisions}
    assert recommended == {
        "result_backend": ["django-celery-results (Django ORM)"],  # from the Communication Style section
        "periodic_tasks": [],
        "dispatch": ["Transaction-safe (on_commit)"],  # its own text says "recommended"
    }
    assert all(len(d.options) == 3 for d in seed.decisions)
    assert len(seed.checklist) == 11
    assert seed.checklist[0] == "Fetched Django-Celery integration documentation"
    assert seed.checklist[-1] == "Task autodiscovery working across Django apps"
    assert seed.skill_mentions == ["celery:framework-integrations"]
    assert seed.slash_commands == ["/celery:setup", "/celery:add-backend"]


def test_seed_security_include_resolves_in_the_project_root(seed: AgentDefinition, tmp_path: Path) -> None:
    assert seed.includes == [(tmp_path / "project" / SECURITY_INCLUDE).resolve()]
    assert "PLACEHOLDER SECURITY RULES" in seed.system_prompt
    assert "@docs/security/SECURITY-RULES.md" not in seed.system_prompt
    assert "@docs/security/SECURITY-RULES.md" in seed.body  # the body stays as written


def test_seed_security_include_falls_back_to_bundled_rules() -> None:
    bundled = PROMPTS_DIR / SECURITY_INCLUDE
    if not SEED.is_file() or not bundled.is_file():
        pytest.skip("needs the seed beside the clone and prompts/docs/security/SECURITY-RULES.md")
    definition = load_definition(SEED)
    assert definition.includes == [bundled.resolve()]
    assert bundled.read_text(encoding="utf-8").strip() in definition.system_prompt


def test_variant_in_other_words_loads_alike() -> None:
    variant = load_definition(VARIANT)
    assert variant.tools == ["Read", "Write", "Bash(python *)", "WebFetch(domain:docs.celeryq.dev)"]
    assert variant.disallowed_tools == ["Bash(rm *)", "Bash(git push:*)"]
    assert (variant.skills, variant.max_turns, variant.permission_mode) == (
        ["celery:framework-integrations"],
        30,
        "acceptEdits",
    )
    assert [p.title for p in variant.phases] == [
        "Discover the project",
        "Weigh the options",
        "Plan",
        "Build",
        "Prove it",
    ]
    assert "#### Notes" in variant.phase("planning").body
    assert [(d.kind, d.when) for d in variant.phase("discovery").directives] == [
        ("web_fetch", None),
        ("skill", None),
    ]
    analysis = variant.phase("analysis").directives
    assert [(d.kind, d.condition, d.when) for d in analysis] == [
        ("web_fetch", "When the user wants periodic tasks", "beat"),  # inherited from the parent bullet
        ("web_fetch", "Only if caching is involved", "caching_is_involved"),  # unknown: kept as a slug
        ("slash_command", "If results are stored", "results"),  # bold lead-in before the fence
    ]
    assert [(d.target, d.when) for d in variant.phase("implementation").directives] == [
        ("https://docs.celeryq.dev/en/stable/userguide/configuration.html", None),
        ("/celery:setup --beat", None),
        ("/celery:signals wire", "signals"),  # a fence indented under a conditional bullet
    ]
    assert [q.key for q in variant.questions] == ["task_apps", "beat", "result_backend"]
    assert variant.questions[1].text == "Is a beat schedule required?"
    recommended = {d.key: [o.name for o in d.options if o.recommended] for d in variant.decisions}
    assert recommended == {"result_backend": ["django-celery-results"], "periodic_tasks": ["None"]}
    assert variant.checklist == ["documentation read", "worker starts"]
    assert variant.skill_mentions == ["celery:framework-integrations", "celery:extra"]


def test_nested_includes_expand_and_fenced_ones_stay_literal() -> None:
    variant = load_definition(VARIANT)
    rules = VARIANT.parent / "rules"
    assert variant.includes == [(rules / "base.md").resolve(), (rules / "more.md").resolve()]
    assert "Base rule: keep secrets" in variant.system_prompt
    assert "More rule: placeholders" in variant.system_prompt
    assert "@more.md" not in variant.system_prompt
    assert "@rules/not-an-include.md" in variant.system_prompt


def test_our_bundled_definition_loads() -> None:
    if not DEFAULT_DEFINITION.is_file():
        pytest.skip("prompts/django-integrator.md is not written yet")
    ours = load_definition(DEFAULT_DEFINITION)
    assert ours.name == "django-integrator"
    assert [p.key for p in ours.phases] == [
        "discovery",
        "analysis",
        "planning",
        "implementation",
        "verification",
    ]
    assert len(ours.checklist) == 11
    assert [(q.key, q.phase, q.when) for q in ours.questions] == [
        ("task_apps", "discovery", None),
        ("beat", "discovery", None),
        ("result_backend", "discovery", None),
        ("queues", "analysis", None),
        ("rewrite_dispatch", "analysis", "unsafe_dispatch"),
        ("rename_settings", "analysis", "old_settings"),
        ("env_urls", "analysis", "literal_urls"),
        ("url_passwords", "analysis", "url_passwords"),
        ("eager_mode", "analysis", "eager_settings"),
        ("install_deps", "analysis", "missing_packages"),
    ]
    assert [d.key for d in ours.decisions] == ["result_backend", "periodic_tasks", "dispatch"]
    assert "Skill(celery:framework-integrations)" in ours.phase("discovery").body
    assert any(d.target.startswith("/celery:setup") for d in ours.phase("analysis").directives)


PROJECT_APPROACH = "## Project Approach\n"
MINIMAL = """---
name: mini-agent
description: A minimal agent for loader tests
allowed-tools: Read, Bash(ls *)
---

## Project Approach

### 1. Discovery
### 2. Analysis
### 3. Planning
### 4. Implementation
### 5. Verification
"""


def write(folder: Path, text: str, name: str = "agent.md") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_definition_loads(tmp_path: Path) -> None:
    decorators = "Tasks look like this:\n\n    @app.task\n    @shared_task\n    def add(x, y): ...\n\n"
    definition = load_definition(
        write(tmp_path, MINIMAL.replace(PROJECT_APPROACH, decorators + PROJECT_APPROACH))
    )
    assert definition.tools == ["Read", "Bash(ls *)"]
    assert definition.includes == [] and "    @app.task\n" in definition.system_prompt  # not includes
    assert definition.questions == definition.decisions == [] and definition.checklist == []


BROKEN = {  # id: (text replaced in MINIMAL, its replacement, line reported, words in the message)
    "bad-yaml": ("A minimal agent", "A minimal: agent", 3, "not valid YAML"),
    "no-name": ("name: mini-agent\n", "", 1, "no `name`"),
    "no-description": ("description: A minimal agent for loader tests\n", "", 1, "no `description`"),
    "uppercase-name": ("mini-agent", "Mini-Agent", 2, "lowercase"),
    "unknown-tool": ("Read, Bash", "Read, Frobnicate, Bash", 4, "unknown tool 'Frobnicate'"),
    "unknown-tool-in-list": (
        "allowed-tools: Read, Bash(ls *)",
        "tools:\n  - Read\n  - Shell(ls)",
        6,
        "'Shell'",
    ),
    "unknown-disallowed": (
        "---\n\n##",
        "disallowedTools: Bash(rm *), Nope\n---\n\n##",
        5,
        "unknown tool 'Nope'",
    ),
    "webfetch-no-domain": ("Bash(ls *)", "WebFetch(docs.celeryq.dev)", 4, "does not name a domain"),
    "missing-include": (
        PROJECT_APPROACH,
        "## Rules\n\n@docs/missing.md\n\n" + PROJECT_APPROACH,
        9,
        "@docs/missing.md",
    ),
    "four-phases": ("### 5. Verification\n", "", 7, "has 4 numbered phase sections"),
    "misnumbered-phase": ("### 5. Verification", "### 6. Verification", 13, "exactly five"),
    "no-phases": (MINIMAL[MINIMAL.index("### 1.") :], "Just prose.\n", 6, "no approach section"),
    "no-frontmatter": ("---\nname", "name", 1, "does not start with YAML frontmatter"),
}


@pytest.mark.parametrize(("old", "new", "line", "words"), BROKEN.values(), ids=BROKEN.keys())
def test_broken_definition_names_file_and_line(
    tmp_path: Path, old: str, new: str, line: int, words: str
) -> None:
    assert old in MINIMAL
    path = write(tmp_path, MINIMAL.replace(old, new, 1))
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert words in message
    assert caught.value.line == line


def test_include_cycle_is_reported_where_it_closes(tmp_path: Path) -> None:
    write(tmp_path, "first rule\n@b.md\n", "a.md")
    write(tmp_path, "second rule\n\n@a.md\n", "b.md")
    agent = write(tmp_path, MINIMAL.replace(PROJECT_APPROACH, "@a.md\n\n" + PROJECT_APPROACH))
    with pytest.raises(DefinitionError) as caught:
        load_definition(agent)
    assert str(caught.value).startswith(f"{tmp_path / 'b.md'}:3: the include @a.md creates a cycle")


def test_include_searches_project_root_then_bundled_prompts(tmp_path: Path) -> None:
    (tmp_path / "defs").mkdir()
    agent = write(
        tmp_path / "defs",
        MINIMAL.replace(PROJECT_APPROACH, "@shared-rules.md\n\n" + PROJECT_APPROACH),
    )
    with pytest.raises(DefinitionError, match="looked for"):
        load_definition(agent)
    write(tmp_path, "rules from the project root\n", "shared-rules.md")
    assert "rules from the project root" in load_definition(agent, project_root=tmp_path).system_prompt
