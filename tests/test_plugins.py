"""Claude Code plugin folders: `--agents-dir`, namespacing, `agents`, command files, warnings, own checklists.

The plugin is written by the test in the shape of a real Claude Code plugin (`.claude-plugin/plugin.json`,
`agents/`, `commands/` with a subfolder, `skills/<name>/SKILL.md`); its `django-integrator` agent is a copy
of the seed definition, so a run with `--agent celery:django-integrator` must integrate a startproject
fixture 11/11 with the offline policy, with the plugin's own skill and our deterministic `/celery:setup`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agent.cli import main
from agent.config import RunOptions
from agent.definition import load_definition
from agent.gates import planning_gate
from agent.plugins import OURS, PluginError, build_catalog, definition_warnings, resolve_definition
from agent.session import build_context
from agent.transcript import read_transcript
from tools.commands import expand_arguments

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "django-integrator.md"
BROKER_CHECKLIST = [
    "Broker URL read from the environment",
    "Connection retry on startup configured",
    "Heartbeat interval documented",
]
BROKER_AGENT = """---
name: broker-specialist
description: Configure the message broker (Redis, RabbitMQ)
model: haiku
allowed-tools: Read, Write, Grep, Glob, Skill, SlashCommand, TodoWrite
---

You configure Celery brokers. Load `Skill(celery:broker-patterns)` and `Skill(celery:task-patterns)`.

## Project Approach

### 1. Discovery
- Read the Celery configuration
- Ask targeted questions:
  - "Which broker do you run (Redis or RabbitMQ)?"

### 2. Analysis
- Compare the broker settings with the documentation

### 3. Planning
- Plan the broker settings

### 4. Implementation
- Write the broker settings

### 5. Verification
- Validate the broker:
```
SlashCommand(/celery:validate broker)
```

## Self-Verification Checklist

Before considering a task complete, verify:
""" + "".join(f"- {item}\n" for item in BROKER_CHECKLIST)

REVIEWER_AGENT = BROKER_AGENT.replace("broker-specialist", "task-reviewer").replace(
    "Configure the message broker (Redis, RabbitMQ)", "Review Celery tasks"
)
ADD_TASK = """---
description: Add a Celery task to an app
argument-hint: <app> <task-name>
allowed-tools: Read, Write, Bash(python manage.py check)
---

Add the task $1 to the app $0 (whole request: $ARGUMENTS).
"""


def skill(name: str, description: str) -> str:
    return f"---\nname: {name}\ndescription: {description}\n---\n\n# {name}\n\nPatterns for {name}.\n"


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    root = tmp_path / "celery-plugin"
    (root / ".claude-plugin").mkdir(parents=True)
    (root / ".claude-plugin" / "plugin.json").write_text(json.dumps({"name": "celery", "version": "1.0.0"}))
    agents = root / "agents"
    agents.mkdir()
    if not SEED.is_file():
        pytest.skip("../shared/seed is not beside this clone")
    shutil.copy(SEED, agents / "django-integrator.md")
    (agents / "broker-specialist.md").write_text(BROKER_AGENT)
    (agents / "task-reviewer.md").write_text(REVIEWER_AGENT)
    (root / "commands" / "ops").mkdir(parents=True)
    (root / "commands" / "add-task.md").write_text(ADD_TASK)
    (root / "commands" / "add-workers.md").write_text(  # not strict YAML, as in real plugins
        "---\ndescription: Configure worker pools\nargument-hint: [pool-type] [options]\n---\nPool $0.\n"
    )
    (root / "commands" / "ops" / "status.md").write_text(
        "---\ndescription: Show worker status\n---\nStatus.\n"
    )
    for name, description in (
        ("framework-integrations", "The plugin's own Django integration patterns"),
        ("task-patterns", "Task design patterns (idempotency, retries)"),
    ):
        (root / "skills" / name).mkdir(parents=True)
        (root / "skills" / name / "SKILL.md").write_text(skill(name, description))
    return root


def test_agents_lists_every_agent_command_and_skill_namespaced(
    plugin: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["agents", "--agents-dir", str(plugin)]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith("  ")}
    for name in ("celery:django-integrator", "celery:broker-specialist", "celery:task-reviewer"):
        assert str(plugin / "agents" / f"{name.split(':')[1]}.md") in rows[name]
    assert str(plugin / "commands" / "add-task.md") in rows["/celery:add-task"]
    assert str(plugin / "commands" / "ops" / "status.md") in rows["/celery:ops:status"]
    assert str(plugin / "skills" / "task-patterns" / "SKILL.md") in rows["celery:task-patterns"]
    # The plugin's own skill replaces ours of the same name; ours serve what the plugin lacks.
    assert str(plugin / "skills" / "framework-integrations") in rows["celery:framework-integrations"]
    assert rows["/celery:setup"].endswith(f"[{OURS}]")
    assert rows["django-integrator"].endswith(f"[{OURS}]")


def test_command_file_frontmatter_and_argument_substitution(plugin: Path) -> None:
    library = build_catalog([str(plugin)]).command_library()
    command = library.get("celery:add-task")
    assert command.description == "Add a Celery task to an app"
    assert command.argument_hint == "<app> <task-name>"
    assert command.allowed_tools == ["Read", "Write", "Bash(python manage.py check)"]
    assert expand_arguments(command.body, "polls 'send email'") == (
        "Add the task send email to the app polls (whole request: polls 'send email')."
    )
    workers = library.get("celery:add-workers")
    assert (workers.argument_hint, workers.description) == ("[pool-type] [options]", "Configure worker pools")
    # Only our own /celery:setup is backed by code; the plugin's commands are prompts.
    assert library.handler_for("celery:add-task") is None
    assert library.handler_for("celery:setup") is not None


def test_missing_commands_and_skills_are_warned_about_by_name(plugin: Path) -> None:
    catalog = build_catalog([str(plugin)])
    broker = load_definition(plugin / "agents" / "broker-specialist.md")
    warnings = definition_warnings(broker, catalog)
    assert any("/celery:validate" in w and "calls to it will fail" in w for w in warnings)
    assert any("Skill(celery:broker-patterns)" in w and "no other folder" in w for w in warnings)
    assert not any("task-patterns" in w for w in warnings)  # the plugin has that one
    seed = load_definition(plugin / "agents" / "django-integrator.md")
    seed_warnings = definition_warnings(seed, catalog)
    assert any("/celery:setup" in w and OURS in w for w in seed_warnings)
    assert any("/celery:add-backend" in w and OURS in w for w in seed_warnings)


def test_definition_folder_loads_its_one_agent_or_exits_2(
    plugin: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", "--yes", str(tmp_path), "--definition", str(plugin)])
    assert code == 2
    err = capsys.readouterr().err
    assert "3 agent definitions" in err and "--agent NAME" in err and "Traceback" not in err
    single = tmp_path / "single"
    (single / "agents").mkdir(parents=True)
    shutil.copy(plugin / "agents" / "broker-specialist.md", single / "agents")
    assert resolve_definition(str(single), None, []) == single / "agents" / "broker-specialist.md"
    with pytest.raises(PluginError, match="no agent named 'nope'"):
        resolve_definition(None, "nope", [str(plugin)])


def _plan_check(context, todos: list[str]) -> dict:
    state = {"ledger": {"todos": [{"content": t} for t in todos]}}
    return planning_gate(state, context)[0].model_dump()


def test_an_agent_is_gated_on_its_own_checklist(plugin: Path, tmp_path: Path) -> None:
    options = RunOptions(project=str(tmp_path), agents_dirs=[str(plugin)], agent="celery:broker-specialist")
    context = build_context(options, "run-own-checklist", home=tmp_path / "state")
    assert context.definition.checklist == BROKER_CHECKLIST
    plan = [
        "Read CELERY_BROKER_URL from the environment",
        "Configure connection retry on startup",
        "Document the heartbeat interval in CELERY.md",
    ]
    assert _plan_check(context, plan)["passed"]
    missing = _plan_check(context, plan[:2])
    assert not missing["passed"]
    assert "#3 Heartbeat interval documented" in missing["evidence"]
    assert "celery.py" not in missing["evidence"]  # our Django items are not demanded of it
    seed = build_context(
        RunOptions(project=str(tmp_path), agents_dirs=[str(plugin)], agent="celery:django-integrator"),
        "run-seed-checklist",
        home=tmp_path / "state",
    )
    django = _plan_check(seed, plan)
    assert not django["passed"] and "#2 celery.py with Django settings autodiscovery" in django["evidence"]


@pytest.mark.live
def test_plugin_agent_integrates_a_startproject_eleven_of_eleven(
    plugin: Path, startproject: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["run", "--yes", "--json", "--no-network", str(startproject), "--agents-dir", str(plugin)]
    code = main([*args, "--agent", "celery:django-integrator"])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert code == 0, report.get("error")
    assert [c["passed"] for c in report["checklist"]] == [True] * 11
    assert report["definition"] == str(plugin / "agents" / "django-integrator.md")
    assert "warning: django-integrator: celery does not define /celery:setup" in captured.err
    events = list(read_transcript(Path(report["transcript"])))
    results = [(e.get("name"), str(e.get("content", ""))) for e in events if e["type"] == "tool_result"]
    assert any("Patterns for framework-integrations." in text for _, text in results)  # the plugin's own
    # Our deterministic /celery:setup served (the plugin has none): its codemods report what they wrote.
    assert any(name == "SlashCommand" and text.startswith("/celery:setup:") for name, text in results)
