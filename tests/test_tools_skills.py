"""The skill library: discovery, Agent Skills validation, the system-prompt block and the Skill tool."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tool_support import make_ctx
from tools import skills
from tools.base import ToolError
from tools.skills import SkillError, SkillLibrary


def write_skill(root: Path, rel: str, frontmatter: str, body: str = "Do the thing.\n") -> Path:
    path = root / rel / "SKILL.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\n{frontmatter}---\n\n{body}")
    return path


@pytest.fixture
def skill_root(tmp_path: Path) -> Path:
    root = tmp_path / "skills"
    write_skill(
        root,
        "celery/framework-integrations",
        "name: framework-integrations\ndescription: Django & Celery <patterns>; use when integrating.\n"
        "license: MIT\nallowed-tools: Read Grep Bash(git status *)\nmetadata:\n  version: '1'\n",
        "# Django integration\n\nPut celery.py beside settings.py.\n",
    )
    folder = root / "celery" / "framework-integrations"
    (folder / "references").mkdir()
    (folder / "references" / "settings.md").write_text("CELERY_BROKER_URL from the environment.\n")
    (folder / "templates").mkdir()
    (folder / "templates" / "celery.py.tmpl").write_text("app = Celery('{{ package }}')\n")
    write_skill(root, "debugging", "name: debugging\ndescription: Find why a worker does not start.\n")
    return root


def test_discovery_and_the_available_skills_block(skill_root: Path) -> None:
    library = SkillLibrary.discover(skill_root)
    assert library.names() == ["celery:framework-integrations", "debugging"]
    skill = library.get("celery:framework-integrations")
    assert (skill.namespace, skill.name, skill.allowed_tools) == (
        "celery",
        "framework-integrations",
        [
            "Read",
            "Grep",
            "Bash(git status *)",
        ],
    )
    assert skill.body == "# Django integration\n\nPut celery.py beside settings.py."
    assert library.get("debugging").namespace is None
    assert library.get("framework-integrations") is skill  # a bare name that only one namespace has
    assert library.available_skills_block() == (
        "<available_skills>\n<skill>\n<name>celery:framework-integrations</name>\n"
        "<description>Django &amp; Celery &lt;patterns&gt;; use when integrating.</description>\n</skill>\n"
        "<skill>\n<name>debugging</name>\n<description>Find why a worker does not start.</description>\n"
        "</skill>\n</available_skills>"
    )


def test_skill_tool_loads_body_lists_files_and_serves_one(
    startproject: Path, tmp_path: Path, skill_root: Path
) -> None:
    ctx = make_ctx(startproject, tmp_path)
    tool = skills.build(ctx, SkillLibrary.discover(skill_root))
    loaded = tool.invoke({"skill": "celery:framework-integrations"})
    assert loaded.startswith("Skill celery:framework-integrations loaded.\n\n# Django integration")
    assert "- references/settings.md\n- templates/celery.py.tmpl" in loaded
    assert "resource=<path>" in loaded
    tool.invoke({"skill": "framework-integrations"})
    assert ctx.ledger.skills == ["celery:framework-integrations"]

    resource = tool.invoke({"skill": "celery:framework-integrations", "resource": "references/settings.md"})
    assert resource.endswith("CELERY_BROKER_URL from the environment.\n")
    for bad in ("../debugging/SKILL.md", "SKILL.md", "references/missing.md", "/etc/passwd"):
        refused = tool.invoke({"skill": "celery:framework-integrations", "resource": bad})
        assert refused.startswith("Error:") and "references/settings.md" in refused

    unknown = tool.invoke({"skill": "celery:nope"})
    assert (
        unknown
        == "Error: unknown skill 'celery:nope'. Available skills: celery:framework-integrations, debugging."
    )


@pytest.mark.parametrize(
    ("folder", "frontmatter", "complaint"),
    [
        ("bad_name", "name: bad_name\ndescription: x\n", "'name' must be 1-64 characters"),
        ("x" * 65, f"name: {'x' * 65}\ndescription: x\n", "'name' must be 1-64 characters"),
        ("double--hyphen", "name: double--hyphen\ndescription: x\n", "'name' must be"),
        ("folder", "name: other\ndescription: x\n", "but the folder is 'folder'"),
        ("nodesc", "name: nodesc\n", "'description' must be"),
        ("longdesc", f"name: longdesc\ndescription: {'d' * 1025}\n", "at most 1024"),
        ("extra", "name: extra\ndescription: x\nversion: 2\n", "unknown frontmatter field(s) version"),
        ("yaml", "name: yaml\ndescription: [unclosed\n", "not valid YAML"),
        ("meta", "name: meta\ndescription: x\nmetadata: just text\n", "'metadata' must be a mapping"),
    ],
)
def test_broken_skills_are_refused_with_their_path(
    tmp_path: Path, folder: str, frontmatter: str, complaint: str
) -> None:
    path = write_skill(tmp_path / "skills", f"ns/{folder}", frontmatter)
    with pytest.raises(SkillError) as raised:
        SkillLibrary.discover(tmp_path / "skills")
    assert str(raised.value).startswith(f"{path}: ") and complaint in str(raised.value)


def test_missing_frontmatter_and_duplicates_are_refused(tmp_path: Path) -> None:
    plain = tmp_path / "a" / "plain" / "SKILL.md"
    plain.parent.mkdir(parents=True)
    plain.write_text("# Just markdown\n")
    with pytest.raises(SkillError, match="no YAML frontmatter"):
        SkillLibrary.discover(tmp_path / "a")
    write_skill(tmp_path / "b", "dup", "name: dup\ndescription: one\n")
    write_skill(tmp_path / "c", "dup", "name: dup\ndescription: two\n")
    with pytest.raises(SkillError, match="also defined at"):
        SkillLibrary.discover(tmp_path / "b", tmp_path / "c")


def test_ambiguous_bare_name_asks_for_the_namespace(tmp_path: Path) -> None:
    write_skill(tmp_path / "s", "one/setup", "name: setup\ndescription: x\n")
    write_skill(tmp_path / "s", "two/setup", "name: setup\ndescription: y\n")
    library = SkillLibrary.discover(tmp_path / "s")
    with pytest.raises(ToolError, match="ambiguous; use one of one:setup, two:setup"):
        library.get("setup")


def test_allowed_tools_forms() -> None:
    assert skills.parse_tool_list("Read, Bash(git status *)") == ["Read", "Bash(git status *)"]
    assert skills.parse_tool_list(["Read", "Grep"]) == ["Read", "Grep"]
    assert skills.parse_tool_list("Bash(git:*) Read") == ["Bash(git:*)", "Read"]
    assert skills.parse_tool_list(None) == []
