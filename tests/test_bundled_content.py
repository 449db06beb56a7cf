"""The bundled content (`prompts/`, `skills/`): what the runtime relies on, and what a user's clone ships.

Checked here: every skill follows the Agent Skills spec; every documentation URL that our definition or
the seed fetches has a bundled reference standing in for it (so WebFetch works offline); our definition
keeps the seed's structure (five phases, eleven checklist items, the security include) in its own words;
no bundled text holds a real-looking secret; the file templates render to Python that Django and Celery
accept. Frontmatter is parsed with PyYAML directly, independent of the runtime's loaders.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agent.checklist import CHECKLIST, PHASES
from agent.resources import DEFAULT_DEFINITION, PROMPTS_DIR, SKILLS_DIR

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "django-integrator.md"
SKILL_DIR = SKILLS_DIR / "celery" / "framework-integrations"
TEMPLATES = SKILL_DIR / "templates"
FRONTMATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)
WEBFETCH_URL = re.compile(r"WebFetch:?\s+(https?://[^\s)`>\]]+)")
SKILL_KEYS = {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}


def split_frontmatter(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    match = FRONTMATTER.match(text)
    assert match, f"{path} does not start with a '---' YAML frontmatter block"
    data = yaml.safe_load(match[1])
    assert isinstance(data, dict), f"{path}: the frontmatter is not a mapping"
    return data, text[match.end() :]


def sections(body: str, level: int) -> dict[str, str]:
    """Heading text -> the markdown under it, for headings of exactly `level` hashes (outside fences)."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    in_fence = False
    for line in body.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        heading = re.match(r"^(#+)\s+(.*)$", line) if not in_fence else None
        if heading and len(heading[1]) <= level:
            current = found.setdefault(heading[2].strip(), []) if len(heading[1]) == level else None
            continue
        if current is not None:
            current.append(line)
    return {title: "\n".join(lines) for title, lines in found.items()}


def normalize_url(url: str) -> str:
    return url.split("#", 1)[0].rstrip("/")


# ---- skills ------------------------------------------------------------------------------------------


def skill_files() -> list[Path]:
    return sorted(SKILLS_DIR.glob("**/SKILL.md"))


def test_there_is_the_celery_skill() -> None:
    assert SKILL_DIR / "SKILL.md" in skill_files()


@pytest.mark.parametrize("path", skill_files(), ids=lambda p: p.parent.name)
def test_skill_frontmatter_follows_the_agent_skills_spec(path: Path) -> None:
    data, body = split_frontmatter(path)
    assert set(data) <= SKILL_KEYS, f"unknown keys {set(data) - SKILL_KEYS}"
    name = data.get("name")
    assert isinstance(name, str) and re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", name) and len(name) <= 64
    assert name == path.parent.name, "the skill's name must equal its folder's name"
    description = data.get("description")
    assert isinstance(description, str) and 1 <= len(description.strip()) <= 1024
    assert re.search(r"\buse it when\b|\bwhen\b", description, re.IGNORECASE), "say when to use it"
    assert body.strip(), "the skill has no body"


def test_the_skill_index_matches_its_files() -> None:
    """SKILL.md names every reference and template it ships, and names none that is missing."""
    _, body = split_frontmatter(SKILL_DIR / "SKILL.md")
    named = set(re.findall(r"`((?:references|templates)/[^`\s]+)`", body))
    shipped = {
        p.relative_to(SKILL_DIR).as_posix()
        for folder in ("references", "templates")
        for p in (SKILL_DIR / folder).iterdir()
    }
    assert named == shipped, f"not on disk: {named - shipped}; not in SKILL.md: {shipped - named}"
    # the references point at each other by bare file name; those must exist too
    for reference in (SKILL_DIR / "references").glob("*.md"):
        for mentioned in re.findall(r"`([a-z0-9-]+\.md)`", reference.read_text(encoding="utf-8")):
            assert (SKILL_DIR / "references" / mentioned).is_file(), f"{reference.name} names {mentioned}"


@pytest.mark.parametrize("path", sorted(SKILL_DIR.glob("references/*.md")), ids=lambda p: p.name)
def test_reference_frontmatter(path: Path) -> None:
    data, body = split_frontmatter(path)
    assert set(data) <= {"title", "urls"}
    assert isinstance(data.get("title"), str) and data["title"].strip()
    urls = data.get("urls", [])
    assert isinstance(urls, list)
    for url in urls:
        assert re.fullmatch(r"https://[^\s#]+", url), f"{url!r}: list the page URL, https, no fragment"
    if urls:
        assert "our summary" in data["title"], "a stand-in for a page says it is our summary"
    assert len(body.strip()) > 500


def definition_urls(path: Path) -> list[str]:
    urls = WEBFETCH_URL.findall(path.read_text(encoding="utf-8"))
    assert urls, f"no WebFetch directive found in {path}"
    return urls


def covered_urls() -> set[str]:
    """The URLs the WebFetch tool can serve from a bundled reference (its own lookup, as at runtime)."""
    from tools.web import bundled_references, normalize_url

    found = bundled_references([SKILLS_DIR])
    assert {normalize_url(u) for u in found} == set(found)
    return set(found)


def test_every_url_our_definition_fetches_has_a_bundled_reference() -> None:
    urls = definition_urls(DEFAULT_DEFINITION)
    assert len(urls) >= 7
    missing = {u for u in urls if normalize_url(u) not in covered_urls()}
    assert not missing, f"no reference lists these under urls: {sorted(missing)}"


def test_every_url_the_seed_fetches_has_a_bundled_reference() -> None:
    if not SEED.is_file():
        pytest.skip(f"the seed definition is not beside this clone ({SEED})")
    urls = definition_urls(SEED)
    assert len(urls) == 9
    missing = {u for u in urls if normalize_url(u) not in covered_urls()}
    assert not missing, f"no reference lists these under urls: {sorted(missing)}"


# ---- our agent definition ----------------------------------------------------------------------------

EXPECTED_TOOLS = (
    "Read, Write, Edit, Glob, Grep, Bash(python *), Bash(python3 *), Bash(celery *), Bash(pip show *), "
    "Bash(pip list *), Bash(ls *), Bash(cat *), Bash(git status *), Bash(git diff *), "
    "WebFetch(domain:docs.celeryq.dev), WebFetch(domain:django-celery-results.readthedocs.io), "
    "WebFetch(domain:django-celery-beat.readthedocs.io), WebFetch(domain:docs.djangoproject.com), "
    "Skill, TodoWrite, SlashCommand, AskUserQuestion"
)
EXPECTED_DENIED = (
    "Bash(rm *), Bash(sudo *), Bash(git push *), Bash(git commit *), Bash(pip install *), "
    "Bash(python -m pip install *), Bash(python3 -m pip install *)"
)


def test_definition_frontmatter() -> None:
    data, _ = split_frontmatter(DEFAULT_DEFINITION)
    assert (data["name"], data["model"], data["color"]) == ("django-integrator", "inherit", "green")
    assert 1 <= len(data["description"]) <= 1024
    tools = [t.strip() for t in data["allowed-tools"].split(",")]
    assert tools == [t.strip() for t in EXPECTED_TOOLS.split(",")]
    assert "Bash" not in tools and "Bash(*)" not in tools
    assert [t.strip() for t in data["disallowedTools"].split(",")] == EXPECTED_DENIED.split(", ")


def test_definition_structure() -> None:
    _, body = split_frontmatter(DEFAULT_DEFINITION)
    top = sections(body, 2)

    security = next(text for title, text in top.items() if title.startswith("Security"))
    include = re.search(r"^@(\S+)$", security, re.MULTILINE)
    assert include and include[1] == "docs/security/SECURITY-RULES.md"
    assert (DEFAULT_DEFINITION.parent / include[1]).is_file()

    phases = list(sections(top["Project Approach"], 3))
    assert len(phases) == 5
    for number, (title, phase) in enumerate(zip(phases, PHASES, strict=True), start=1):
        assert title.startswith(f"{number}. {phase.capitalize()}"), title
    phase_text = dict(zip(PHASES, sections(top["Project Approach"], 3).values(), strict=True))
    assert "Skill(celery:framework-integrations)" in phase_text["discovery"]
    assert "SlashCommand(/celery:setup $ARGUMENTS)" in phase_text["analysis"]
    assert "SlashCommand(/celery:add-backend django-db)" in phase_text["implementation"]
    for condition in ("If result storage needed", "If periodic tasks needed", "If transactions involved"):
        assert re.search(rf"^\s*- {condition}: WebFetch https://", phase_text["analysis"], re.MULTILINE)
    questions = re.findall(r'^\s*- "(.+\?)"$', phase_text["discovery"], re.MULTILINE)
    assert len(questions) == 3
    expected_words = (("apps", "tasks"), ("periodic", "beat"), ("results", "backend"))
    for question, words in zip(questions, expected_words, strict=True):
        assert all(word in question for word in words), question
    assert "celery -A <pkg> worker -l info" in phase_text["verification"]
    assert "celery -A <pkg> inspect registered" in phase_text["verification"]

    decisions = sections(top["Decision-Making Framework"], 3)
    assert list(decisions) == [
        "Result Backend Selection",
        "Periodic Task Management",
        "Task Dispatch Strategy",
    ]
    recommended = {
        title: [
            m[0] for m in re.findall(r"^- \*\*(.+?)\*\*: (.*)$", text, re.MULTILINE) if "recommended" in m[1]
        ]
        for title, text in decisions.items()
    }
    assert recommended == {
        "Result Backend Selection": ["django-celery-results (django-db)"],
        "Periodic Task Management": ["No scheduler"],
        "Task Dispatch Strategy": ["Transaction-safe (on_commit)"],
    }

    checklist = re.findall(r"^- ✅ (.+)$", top["Self-Verification Checklist"], re.MULTILINE)
    assert len(checklist) == len(CHECKLIST) == 11


def test_the_runtime_loader_reads_our_definition_as_intended() -> None:
    """Cross-check with the loader the runtime uses: directives, conditions, questions, defaults."""
    from agent.definition import load_definition

    definition = load_definition(DEFAULT_DEFINITION)
    directives = {
        phase.key: [(d.kind, d.target, d.when) for d in phase.directives] for phase in definition.phases
    }
    assert directives["discovery"][-1] == ("skill", "celery:framework-integrations", None)
    assert [d[2] for d in directives["analysis"]] == ["results", "beat", "transactions", None]
    assert directives["implementation"] == [("slash_command", "/celery:add-backend django-db", None)]
    assert directives["verification"] == []
    assert [q.key for q in definition.questions if q.phase == "discovery"] == [
        "task_apps",
        "beat",
        "result_backend",
    ]
    assert [q.key for q in definition.questions if q.phase == "analysis"] == [
        "queues",
        "rewrite_dispatch",
        "rename_settings",
        "env_urls",
        "url_passwords",
        "eager_mode",
        "install_deps",
    ]
    assert {d.key: [o.name for o in d.options if o.recommended] for d in definition.decisions} == {
        "result_backend": ["django-celery-results (django-db)"],
        "periodic_tasks": ["No scheduler"],
        "dispatch": ["Transaction-safe (on_commit)"],
    }
    assert "## 5. Keep values out of output" in definition.system_prompt  # the security rules, included


# ---- phase instructions and slash commands -----------------------------------------------------------


@pytest.mark.parametrize("phase", PHASES)
def test_phase_instructions(phase: str) -> None:
    text = (PROMPTS_DIR / "phases" / f"{phase}.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 45
    assert "`finish_phase`" in text and "AskUserQuestion" in text
    owned = {item.number for item in CHECKLIST if item.gate == phase}
    listed = {int(n) for n in re.findall(r"^- (\d+): ", text, re.MULTILINE)}
    if phase in ("implementation", "verification"):
        assert listed == owned
    if phase == "discovery":
        assert owned == {1} and "checklist item 1" in text
    if phase == "planning":
        assert "TodoWrite" in text and "all 11 items" in text


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        (
            "setup",
            "[--apps a,b] [--beat|--no-beat] [--backend django-db|redis|django-cache|none] [--broker URL] "
            "[--queues q:app,...] [--rename-settings] [--rewrite-dispatch] [--install-deps] [--fix-url-passwords] "
            "[--fix-eager] [--env-urls]",
        ),
        ("add-backend", "django-db|redis|django-cache|none"),
    ],
)
def test_slash_command_files(name: str, hint: str) -> None:
    data, body = split_frontmatter(PROMPTS_DIR / "commands" / "celery" / f"{name}.md")
    assert data["argument-hint"] == hint
    assert data["description"].strip()
    tools = [t.strip() for t in data["allowed-tools"].split(",")]
    assert "Bash" not in tools and "Bash(*)" not in tools
    assert "$ARGUMENTS" in body and f"/celery:{name}" in body


# ---- no secrets --------------------------------------------------------------------------------------

SECRET_PATTERNS = {
    "an sk- API key": re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"),
    "an AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "a long hex token": re.compile(r"\b[0-9a-fA-F]{32,}\b"),
    "a Django SECRET_KEY value": re.compile(
        r"SECRET_KEY\s*=\s*['\"](?![^'\"]*your_\w*_here)[^'\"]{20,}['\"]"
    ),
}
BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")
URL_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/:@'\"`]*:([^\s/@'\"`]+)@")
PLACEHOLDER = re.compile(r"\*+|<[^>]+>|\$\{?\w+\}?|\w*password\w*|.*your_\w*_here", re.IGNORECASE)


def find_secrets(text: str) -> list[str]:
    """Real-looking secrets in `text`, each described; placeholders and masked values are not secrets."""
    found = [f"{what}: {m[0]}" for what, pattern in SECRET_PATTERNS.items() for m in pattern.finditer(text)]
    for match in BASE64_RUN.finditer(text):
        token = match[0]
        path_like = all(len(part) < 20 for part in token.split("/"))
        mixed = all(re.search(cls, token) for cls in ("[a-z]", "[A-Z]", "[0-9]"))
        if mixed and not path_like:
            found.append(f"a long base64 token: {token}")
    for match in URL_PASSWORD.finditer(text):
        if not PLACEHOLDER.fullmatch(match[1]):
            found.append(f"a password in a URL: {match[0]}")
    return found


def test_the_secret_scan_finds_planted_secrets_and_spares_placeholders() -> None:
    planted = [
        "OPENAI_API_KEY=sk-" + "a1B2c3D4" * 4,
        "aws_access_key_id = AKIA" + "ABCDEFGH23456789",
        "token = " + "0f" * 20,
        "blob: " + "Zm9vYmFyYmF6" * 3 + "Q1w2E3r4",
        "CELERY_BROKER_URL=redis://:" + "hunter2hunter2" + "@cache.internal:6379/0",
        "SECRET_KEY = '" + "django-insecure-" + "x8#k2!q" * 4 + "'",
    ]
    for text in planted:
        assert find_secrets(text), text
    harmless = [
        "CELERY_BROKER_URL=rediss://:mysite_prod_your_key_here@redis.example.com:6380/0",
        "redis://:***@host:6379/0 and amqp://user:password@host// and amqp://${USER}:${PASSWORD}@host//",
        "SECRET_KEY = 'mysite_dev_your_key_here_and_more_text'",
        "https://docs.celeryq.dev/en/stable/userguide/configuration.html",
        "django_celery_beat.schedulers:DatabaseScheduler celery/contrib/django/task/DjangoTask",
    ]
    for text in harmless:
        assert not find_secrets(text), text


def bundled_text_files() -> list[Path]:
    return sorted(p for root in (PROMPTS_DIR, SKILLS_DIR) for p in root.rglob("*") if p.is_file())


def test_no_bundled_text_holds_a_real_looking_secret() -> None:
    files = bundled_text_files()
    assert len(files) >= 20
    found = {
        str(p.relative_to(PROMPTS_DIR.parent)): find_secrets(p.read_text(encoding="utf-8")) for p in files
    }
    assert not {path: hits for path, hits in found.items() if hits}


# ---- our words, not the seed's -----------------------------------------------------------------------


def sentences(markdown: str) -> list[list[str]]:
    """The prose of a markdown body as sentences of lower-case words (fences and frontmatter dropped).

    Lines of one bullet or paragraph are joined; a sentence ends at . ! ? ; : or the end of its block, so
    two short bullets that happen to follow each other never count as one sentence.
    """
    blocks: list[str] = []
    in_fence = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
            continue
        stripped = line.strip()
        starts_block = not stripped or re.match(r"^(#+|[-*]|\d+\.)\s", stripped) or not blocks
        if in_fence or not stripped:
            blocks.append("")
        elif starts_block:
            blocks.append(stripped)
        else:
            blocks[-1] += " " + stripped
    result = []
    for block in blocks:
        block = re.sub(r"https?://\S+", " URL ", block)
        for sentence in re.split(r"[.!?;:](?:\s|$)", block):
            words = re.findall(r"[a-z0-9_@][a-z0-9_'.-]*", sentence.lower().replace("*", "").replace("`", ""))
            if words:
                result.append(words)
    return result


def shared_runs(ours: str, theirs: str, length: int = 8) -> list[str]:
    """Runs of `length` consecutive words that a sentence of `ours` shares with a sentence of `theirs`."""
    theirs_runs = {tuple(s[i : i + length]) for s in sentences(theirs) for i in range(len(s) - length + 1)}
    return sorted(
        " ".join(s[i : i + length])
        for s in sentences(ours)
        for i in range(len(s) - length + 1)
        if tuple(s[i : i + length]) in theirs_runs
    )


@pytest.fixture
def seed_body() -> str:
    if not SEED.is_file():
        pytest.skip(f"the seed definition is not beside this clone ({SEED})")
    return split_frontmatter(SEED)[1]


def test_the_copy_check_catches_a_copied_sentence(seed_body: str) -> None:
    copied = next(s for s in sentences(seed_body) if len(s) >= 12)
    ours = "Our own words come first.\n\n- " + " ".join(copied).capitalize() + ".\n"
    assert shared_runs(ours, seed_body)


@pytest.mark.parametrize("path", [DEFAULT_DEFINITION, *sorted(PROMPTS_DIR.rglob("*.md"))], ids=str)
def test_no_sentence_of_eight_words_is_copied_from_the_seed(seed_body: str, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    match = FRONTMATTER.match(text)
    body = text[match.end() :] if match else text
    assert not shared_runs(body, seed_body)


# ---- templates ---------------------------------------------------------------------------------------

VALUES = {
    "project_package": "mysite",
    "settings_module": "mysite.settings",
    "app_module": "polls",
    "model": "Question",
    "model_snake": "question",
    "model_plural_snake": "questions",
    "project": "mysite",
    "env": "dev",
}


def render(name: str) -> str:
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    rendered = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: VALUES[m[1]], text)
    assert "{{" not in rendered and "}}" not in rendered
    return rendered


def test_python_templates_render_to_clean_code(tmp_path: Path) -> None:
    """Rendered where they belong in a project, the templates pass ruff's default rules and formatting."""
    prelude = 'import os\n\nTIME_ZONE = "UTC"\n'
    rendered = {
        "mysite/celery.py": render("celery.py.tmpl"),
        "mysite/__init__.py": render("__init__.py.tmpl"),
        "mysite/settings.py": prelude + render("settings_celery.py.tmpl") + render("settings_beat.py.tmpl"),
        "polls/tasks.py": render("tasks.py.tmpl"),
        "accounts/tasks.py": render("tasks_without_models.py.tmpl"),
    }
    for name, source in rendered.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(source)
    ruff = Path(sys.executable).parent / "ruff"
    for command in (["check", "--isolated"], ["format", "--isolated", "--check", "--diff"]):
        done = subprocess.run([ruff, *command, "."], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr

    for name, source in rendered.items():
        assert max(len(line) for line in source.splitlines()) <= 88, f"{name}: fit ruff's default width"
    module = ast.parse(rendered["mysite/celery.py"])
    assert ast.get_docstring(module)
    calls = [ast.unparse(node.value) for node in module.body[1:] if isinstance(node, ast.Expr | ast.Assign)]
    assert calls == [
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')",
        "Celery('mysite')",
        "app.config_from_object('django.conf:settings', namespace='CELERY')",
        "app.autodiscover_tasks()",
    ]


def test_env_and_gitignore_templates() -> None:
    env = render("env.example.tmpl")
    assert re.search(r"^CELERY_BROKER_URL=redis://localhost:6379/0$", env, re.MULTILINE)
    assert "mysite_dev_your_key_here" in env
    assert render("gitignore.tmpl").split("\n")[1:4] == [".env", ".env.*", "!.env.example"]


PROBE = """
import json, django
django.setup()
from mysite import celery_app
celery_app.loader.import_default_modules()
tasks = {name: task for name, task in celery_app.tasks.items() if not name.startswith("celery.")}
print(json.dumps({
    "tasks": sorted(tasks),
    "on_commit": all(hasattr(t, "delay_on_commit") for t in tasks.values()),
    "limits": [tasks["polls.tasks.process_question"].soft_time_limit, tasks["polls.tasks.process_question"].time_limit],
    "backend": celery_app.conf.result_backend,
    "serializer": celery_app.conf.task_serializer,
    "accept": celery_app.conf.accept_content,
    "scheduler": celery_app.conf.beat_scheduler,
}))
"""


def test_templates_wire_a_real_startproject(startproject: Path) -> None:
    """Rendered into `startproject mysite`: Django's checks pass and Celery registers the app's tasks."""
    package = startproject / "mysite"
    (package / "celery.py").write_text(render("celery.py.tmpl"))
    (package / "__init__.py").write_text(render("__init__.py.tmpl"))
    (startproject / "polls" / "tasks.py").write_text(render("tasks.py.tmpl"))
    settings = package / "settings.py"
    text = "import os\n" + settings.read_text().replace(
        "INSTALLED_APPS = [\n",
        'INSTALLED_APPS = [\n    "django_celery_results",\n    "django_celery_beat",\n',
    )
    settings.write_text(text + "\n" + render("settings_celery.py.tmpl") + render("settings_beat.py.tmpl"))
    env = {"PATH": str(Path(sys.executable).parent), "PYTHONDONTWRITEBYTECODE": "1"}

    check = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=startproject, env=env, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    env["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=startproject, env=env, capture_output=True, text=True
    )
    assert probe.returncode == 0, probe.stderr
    assert json.loads(probe.stdout) == {
        "tasks": ["polls.tasks.count_questions", "polls.tasks.process_question"],
        "on_commit": True,
        "limits": [60, 90],
        "backend": "django-db",
        "serializer": "json",
        "accept": ["json"],
        "scheduler": "django_celery_beat.schedulers:DatabaseScheduler",
    }
