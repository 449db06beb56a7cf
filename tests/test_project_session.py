"""The project session: one process in the project's interpreter per state of its code, answering discovery
and `manage.py` commands exactly as the one-off subprocesses do, and gone when its block ends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.evals.fixture_tools import linked_venv
from tests.tool_support import make_ctx, startproject_facts
from tools.django_celery.dependencies_install import FIND_SPECS, clean_env
from tools.django_celery.discovery import DiscoveryError, discover_project
from tools.django_celery.manage_py import startproject_settings
from tools.django_celery.migrations import migration_plan
from tools.django_celery.project_env import facts_env, run_manage
from tools.django_celery.project_session import manage_in_session, missing_in_session, project_sessions
from tools.django_celery.session_commands import session_arguments
from tools.shell import build as build_bash

SLEEPY_COMMAND = """from django.core.management.base import BaseCommand
import time


class Command(BaseCommand):
    def handle(self, *args, **options):
        print("started", flush=True)
        time.sleep(60)
"""


def session_pids(project: Path) -> list[int]:
    """Live project_server.py processes working in `project` (a /proc scan)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            cwd = Path(os.readlink(entry / "cwd"))
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"project_server.py" in command and cwd == project.resolve() and state != "Z":
            found.append(int(entry.name))
    return found


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def subprocess_manage(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    facts = startproject_facts(project)
    return subprocess.run(
        [sys.executable, str(project / "manage.py"), *args],
        cwd=project,
        env=facts_env(facts),
        capture_output=True,
        text=True,
    )


def test_one_process_answers_discovery_and_commands_like_subprocesses(startproject: Path) -> None:
    facts = startproject_facts(startproject)
    with project_sessions():
        discovered = discover_project(startproject, sys.executable)
        checked = run_manage(facts, "check")
        plan = run_manage(facts, "showmigrations", "--plan")
        assert len(session_pids(startproject)) == 1
    assert session_pids(startproject) == []
    assert [app.label for app in discovered.apps] == ["polls"]
    for served, args in ((checked, ["check"]), (plan, ["showmigrations", "--plan"])):
        alone = subprocess_manage(startproject, *args)
        assert (served.returncode, served.stdout, served.stderr) == (
            alone.returncode,
            alone.stdout,
            alone.stderr,
        )
    assert "[ ]  polls.0001_initial" in plan.stdout


def test_a_migration_keeps_the_session_and_a_code_change_replaces_it(startproject: Path) -> None:
    facts = startproject_facts(startproject)
    with project_sessions():
        assert run_manage(facts, "migrate", "polls", "--noinput").returncode == 0
        [first] = session_pids(startproject)
        assert ("polls", "0001_initial", True) in migration_plan(facts)  # the database changed, not the code
        assert session_pids(startproject) == [first]
        settings = startproject / "mysite" / "settings.py"
        settings.write_text(settings.read_text() + "\nCELERY_TASK_TIME_LIMIT = 30\n")
        rediscovered = discover_project(startproject, sys.executable)
        [second] = session_pids(startproject)
    assert second != first
    assert rediscovered.existing.celery_settings.get("CELERY_TASK_TIME_LIMIT") == "30"
    assert session_pids(startproject) == []


def test_outside_a_session_block_nothing_stays_up(startproject: Path) -> None:
    facts = startproject_facts(startproject)
    discover_project(startproject, sys.executable)
    assert manage_in_session(facts, ["check"], 60) is None
    assert run_manage(facts, "check").returncode == 0
    assert session_pids(startproject) == []


def test_a_command_past_its_timeout_is_killed_and_the_session_goes_on(startproject: Path) -> None:
    commands = startproject / "polls" / "management" / "commands"
    commands.mkdir(parents=True)
    for folder in (commands.parent, commands):
        (folder / "__init__.py").write_text("")
    (commands / "sleepy.py").write_text(SLEEPY_COMMAND)
    facts = startproject_facts(startproject)
    with project_sessions():
        with pytest.raises(subprocess.TimeoutExpired) as stopped:
            run_manage(facts, "sleepy", timeout=2)
        assert "started" in str(stopped.value.output)
        assert run_manage(facts, "check").returncode == 0
        [server] = session_pids(startproject)
        assert children_of(server) == []  # the killed command left nothing behind
    assert session_pids(startproject) == []


def test_a_project_with_threads_gets_subprocesses(startproject: Path) -> None:
    """Forking a process that runs threads could deadlock the child: such a session refuses to fork."""
    settings = startproject / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text()
        + "\nimport threading, time\nthreading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
    )
    facts = startproject_facts(startproject)
    with project_sessions():
        assert manage_in_session(facts, ["check"], 60) is None
        done = run_manage(facts, "check")
        assert len(session_pids(startproject)) == 1  # it still gave discovery's report
    assert done.returncode == 0 and "no issues" in done.stdout


@pytest.mark.parametrize(
    ("extra", "plain"),
    [
        ("", True),
        ("from dotenv import load_dotenv\nload_dotenv()\n", False),
        ("sys.path.append('apps')\n", False),
        ("raise SystemExit('use make')\n", False),
        ("os.environ['DEBUG'] = '1'\n", False),
    ],
)
def test_only_startproject_shaped_manage_py_is_served(startproject: Path, extra: str, plain: bool) -> None:
    manage = startproject / "manage.py"
    text = manage.read_text()
    manage.write_text(text.replace("\n\ndef main", f"\n{extra}\n\ndef main", 1))
    assert startproject_settings(manage) == ("mysite.settings" if plain else None)


def test_bash_sends_only_exact_equivalents_to_the_session(startproject: Path, tmp_path: Path) -> None:
    facts = startproject_facts(startproject)
    env = make_ctx(startproject, tmp_path, facts=facts).subprocess_env()
    cwd = startproject.resolve()
    assert session_arguments("python manage.py check", facts, env, cwd) == ["check"]
    assert session_arguments("python manage.py showmigrations polls", facts, env, cwd) == [
        "showmigrations",
        "polls",
    ]
    for command in (
        "python manage.py check | cat",
        "python manage.py check --settings=mysite.other",
        "python manage.py runserver",
        "python -W error manage.py check",
        "DEBUG=1 python manage.py check",
        "/usr/bin/python3 manage.py check",
        "python manage.py check > out.txt",
    ):
        assert session_arguments(command, facts, env, cwd) is None, command
    elsewhere = dict(env, PATH="/usr/bin:/bin")
    assert session_arguments("python3 manage.py check", facts, elsewhere, cwd) is None
    with_env_file = facts.model_copy(update={"env_files": [str(tmp_path / ".env")]})
    assert session_arguments("python manage.py check", with_env_file, env, cwd) is None


def test_bash_output_is_the_same_in_the_session(startproject: Path, tmp_path: Path) -> None:
    facts = startproject_facts(startproject)
    bash = build_bash(make_ctx(startproject, tmp_path, facts=facts))
    alone = [
        bash.invoke({"command": c}) for c in ("python manage.py check", "python manage.py showmigrations")
    ]
    with project_sessions():
        served = [
            bash.invoke({"command": c}) for c in ("python manage.py check", "python manage.py showmigrations")
        ]
        assert len(session_pids(startproject)) == 1
    assert served == alone
    assert "System check identified no issues" in served[0]


def test_settings_that_do_not_load_fail_discovery_the_same_way(startproject: Path) -> None:
    settings = startproject / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + "\nimport environ_not_installed\n")
    with pytest.raises(DiscoveryError) as alone:
        discover_project(startproject, sys.executable)
    admin = startproject / "polls" / "admin.py"
    admin.write_text(admin.read_text() + "\n# another state of the tree: discovery asks afresh\n")
    with project_sessions(), pytest.raises(DiscoveryError) as in_session:
        discover_project(startproject, sys.executable)
    assert str(in_session.value) == str(alone.value)
    assert "environ_not_installed" in str(alone.value)
    assert session_pids(startproject) == []


def test_the_dependency_check_gets_the_one_off_answer(startproject: Path, tmp_path: Path) -> None:
    """Which modules the interpreter lacks, as `python -c find_spec` outside the project says: the project's
    own packages (polls) do not count as installed, whatever the session imported."""
    modules = ["celery", "django_celery_results", "polls", "surely_not_installed_anywhere"]
    alone = subprocess.run(
        [sys.executable, "-c", FIND_SPECS, *modules],
        cwd=tmp_path,
        env=clean_env(sys.executable),
        capture_output=True,
        text=True,
        check=True,
    )
    facts = startproject_facts(startproject)
    with project_sessions():
        served = missing_in_session(facts, modules)
        assert len(session_pids(startproject)) == 1
    assert served == json.loads(alone.stdout) == ["polls", "surely_not_installed_anywhere"]
    assert missing_in_session(facts, modules) is None  # no session block: the caller runs its subprocess


def test_packages_in_an_in_project_virtualenv_count_as_installed(startproject: Path) -> None:
    """Poetry's, uv's and `python -m venv .venv`'s packages live under the project folder: a package there
    that the settings already imported is installed, not the project's own code (the django42 and
    install_deps eval cases failed their dependency check on this)."""
    python = linked_venv(startproject / ".venv")
    site = next((startproject / ".venv").glob("lib/python*/site-packages"))
    (site / "inproject_pkg").mkdir()
    (site / "inproject_pkg" / "__init__.py").write_text("NAME = 'installed in the project .venv'\n")
    settings = startproject / "mysite" / "settings.py"
    settings.write_text("import inproject_pkg  # noqa: F401\n" + settings.read_text())
    modules = ["inproject_pkg", "polls", "surely_not_installed_anywhere"]
    alone = subprocess.run(
        [str(python), "-c", FIND_SPECS, *modules],
        cwd=startproject.parent,
        env=clean_env(str(python)),
        capture_output=True,
        text=True,
        check=True,
    )
    facts = startproject_facts(startproject).model_copy(update={"interpreter": str(python)})
    with project_sessions():
        served = missing_in_session(facts, modules)
    assert served == json.loads(alone.stdout) == ["polls", "surely_not_installed_anywhere"]
