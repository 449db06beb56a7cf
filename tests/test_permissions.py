"""Permission rules: DESIGN.md's Bash examples, path and domain specifiers, ask rules, directive grants."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.definition import load_definition
from agent.permissions import Permissions, RuleError, parse_rule
from agent.shell_split import split_command

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "django-integrator.md"


def bash(permissions: Permissions, command: str) -> bool:
    return permissions.check("Bash", {"command": command}).allowed


@pytest.mark.parametrize("rule", ["Bash(ls *)", "Bash(ls:*)"])
def test_trailing_star_keeps_a_word_boundary(rule: str) -> None:
    permissions = Permissions([rule])
    assert bash(permissions, "ls")
    assert bash(permissions, "ls -la")
    assert not bash(permissions, "lsof")
    assert not bash(permissions, "cat ls")


def test_star_globs_anywhere_and_exact_rules_match_exactly() -> None:
    permissions = Permissions(["Bash(git * main)", "Bash(python manage.py check)"])
    assert bash(permissions, "git push origin main")
    assert not bash(permissions, "git push origin dev")
    assert bash(permissions, "python manage.py check")
    assert not bash(permissions, "python manage.py check --deploy")


def test_legacy_colon_star_only_counts_at_the_end() -> None:
    permissions = Permissions(["Bash(echo a:*b)"])
    assert bash(permissions, "echo a:xyzb")
    assert not bash(permissions, "echo a b")


def test_compound_command_must_match_part_by_part() -> None:
    permissions = Permissions(["Bash(ls *)"])
    decision = permissions.check("Bash", {"command": "ls && rm -rf /"})
    assert not decision.allowed
    assert "`rm -rf /`" in decision.reason and "every part must be allowed" in decision.reason
    for separator in ("||", ";", "|", "&", "\n"):
        assert not bash(permissions, f"ls{separator}rm -rf /"), separator
    assert bash(permissions, "ls -la && ls src; ls | ls")


def test_quoted_operators_do_not_split_and_redirections_are_not_separators() -> None:
    permissions = Permissions(["Bash(echo *)", "Bash(ls *)"])
    assert bash(permissions, 'echo "a && rm -rf /"')
    assert bash(permissions, "echo 'x; rm -rf /' | ls")
    assert bash(permissions, "ls 2>&1 >/dev/null")
    assert split_command("ls &>log") == ["ls &>log"]


def test_command_substitution_is_checked_too() -> None:
    permissions = Permissions(["Bash(echo *)"])
    assert not bash(permissions, "echo $(rm -rf ~)")
    assert not bash(permissions, "echo `rm -rf ~`")
    assert bash(permissions, "echo $(echo hi) $((1 + 2))")


def test_wrappers_and_env_assignments_are_stripped() -> None:
    permissions = Permissions(["Bash(ls *)"])
    assert bash(permissions, "timeout 5 ls")
    assert bash(permissions, "timeout -s KILL 2.5s ls -la")
    assert bash(permissions, "nice -n 10 ls")
    assert bash(permissions, "nohup ls")
    assert bash(permissions, "FOO=bar BAZ='two words' ls")
    assert not bash(permissions, "timeout 5 lsof")


def test_heredoc_body_stays_with_its_command() -> None:
    permissions = Permissions(["Bash(python *)"])
    assert bash(permissions, "python - <<'EOF'\nimport os\nprint(os.getcwd())\nEOF")
    assert not bash(permissions, "python - <<'EOF'\nprint(1)\nEOF\nrm -rf /")


def test_deny_is_checked_before_allow() -> None:
    permissions = Permissions(["Bash"], deny=["Bash(rm *)"])
    assert bash(permissions, "ls")
    decision = permissions.check("Bash", {"command": "ls && timeout 3 rm -rf build"})
    assert not decision.allowed
    assert decision.rule == "Bash(rm *)" and "deny rule Bash(rm *)" in decision.reason


@pytest.mark.parametrize("rule", ["Bash", "Bash(*)"])
def test_bare_bash_and_bash_star_are_the_same(rule: str) -> None:
    assert parse_rule(rule).specifier is None
    assert bash(Permissions([rule]), "anything at all | sort; echo done")


def test_ask_rules_need_approval() -> None:
    permissions = Permissions(["Bash"], ask=["Bash(pip install *)"])
    decision = permissions.check("Bash", {"command": "pip install django-celery-results"})
    assert (decision.allowed, decision.needs_approval) == (False, True)
    assert "needs approval" in decision.reason
    assert bash(permissions, "pip list")


def test_path_specifiers_are_project_relative_globs(tmp_path: Path) -> None:
    project = tmp_path / "mysite"
    permissions = Permissions(
        ["Read(./src/**)", "Edit(/mysite/*.py)", "Glob", "Grep(./src)"],
        deny=["Read(*.env)", f"Read(/{tmp_path}/secrets/**)"],
        project_root=project,
    )

    def allowed(tool: str, path: str) -> bool:
        return permissions.check(tool, {"path": path}).allowed

    assert allowed("Read", "src/app/models.py")
    assert allowed("Read", str(project / "src" / "views.py"))  # absolute inside the project
    assert not allowed("Read", "manage.py")
    assert allowed("Read", "../mysite/src/x.py")  # normalised: still inside the project
    assert not allowed("Read", "src/../../elsewhere/src/x.py")
    assert not allowed("Read", "src/config/.env")  # deny at any depth
    assert not allowed("Read", str(tmp_path / "secrets" / "key.txt"))
    assert allowed("Edit", "mysite/settings.py")
    assert not allowed("Edit", "mysite/sub/settings.py")  # `*` stays within one folder
    assert not allowed("Edit", "other/settings.py")
    assert allowed("Glob", ".")
    assert allowed("Grep", "src/app")
    assert not allowed("Grep", "tests")
    assert permissions.check("Read", {"file_path": "src/a.py"}).allowed  # the other argument name


def test_webfetch_domains_include_subdomains_only() -> None:
    permissions = Permissions(["WebFetch(domain:celeryq.dev)"])

    def allowed(url: str) -> bool:
        return permissions.check("WebFetch", {"url": url}).allowed

    assert allowed("https://celeryq.dev/")
    assert allowed("https://docs.celeryq.dev/en/stable/django/first-steps-with-django.html")
    assert not allowed("https://evilceleryq.dev/")
    assert not allowed("https://example.com/?q=celeryq.dev")
    assert not allowed("file:///etc/passwd")


def test_skill_and_slash_command_specifiers() -> None:
    permissions = Permissions(["Skill(celery:framework-integrations)", "SlashCommand(/celery:setup *)"])
    assert permissions.check("Skill", {"skill": "celery:framework-integrations"}).allowed
    assert permissions.check("Skill", {"skill": "framework-integrations"}).allowed
    assert not permissions.check("Skill", {"skill": "celery:other"}).allowed
    assert permissions.check("SlashCommand", {"command": "/celery:setup"}).allowed
    assert permissions.check("SlashCommand", {"command": "/celery:setup --beat --apps a,b"}).allowed
    assert not permissions.check("SlashCommand", {"command": "/celery:setupx"}).allowed


def test_unknown_tool_is_refused_and_unknown_rules_do_not_parse() -> None:
    permissions = Permissions(["Read"])
    decision = permissions.check("Delete", {"path": "x"})
    assert not decision.allowed and "no tool named 'Delete'" in decision.reason
    with pytest.raises(RuleError, match="unknown tool 'Shell'"):
        parse_rule("Shell(ls)")
    with pytest.raises(RuleError, match="does not name a domain"):
        parse_rule("WebFetch(example.com)")
    with pytest.raises(RuleError, match="takes no specifier"):
        parse_rule("TodoWrite(x)")


def test_grants_never_override_deny() -> None:
    permissions = Permissions(
        ["Read"], deny=["SlashCommand"], grants=[("SlashCommand(/celery:setup *)", "a.md:3")]
    )
    decision = permissions.check("SlashCommand", {"command": "/celery:setup"})
    assert not decision.allowed and decision.rule == "SlashCommand"
    assert "SlashCommand" not in permissions.allowed_tool_names()


@pytest.fixture
def seed_permissions(tmp_path: Path) -> Permissions:
    if not SEED.is_file():
        pytest.skip(f"the seed definition is not beside the clone at {SEED}")
    rules = tmp_path / "docs" / "security" / "SECURITY-RULES.md"
    rules.parent.mkdir(parents=True)
    rules.write_text("placeholder security rules\n", encoding="utf-8")
    return Permissions.from_definition(load_definition(SEED, project_root=tmp_path), project_root=tmp_path)


def test_seed_directives_grant_exactly_their_calls(seed_permissions: Permissions) -> None:
    check = seed_permissions.check
    setup = check("SlashCommand", {"command": "/celery:setup --beat"})
    assert setup.allowed
    assert (
        setup.reason
        == "SlashCommand(/celery:setup *) granted by the definition's directive at django-integrator.md:97"
    )
    assert check("SlashCommand", {"command": "/celery:add-backend redis"}).allowed
    assert not check("SlashCommand", {"command": "/celery:other"}).allowed
    fetch = check("WebFetch", {"url": "https://docs.celeryq.dev/en/stable/userguide/tasks.html"})
    assert fetch.allowed and "django-integrator.md:68" in fetch.reason
    assert check("WebFetch", {"url": "https://django-celery-beat.readthedocs.io/en/latest/"}).allowed
    assert not check("WebFetch", {"url": "https://example.com/"}).allowed
    assert check("Skill", {"skill": "celery:framework-integrations"}).allowed  # `Skill` allows any skill
    assert check("Bash", {"command": "python manage.py migrate && celery -A mysite inspect ping"}).allowed
    assert check("AskUserQuestion", {"question": "Which apps?"}).allowed


def test_seed_refuses_edit_and_says_what_to_use_instead(seed_permissions: Permissions) -> None:
    decision = seed_permissions.check(
        "Edit", {"path": "mysite/settings.py", "old_string": "a", "new_string": "b"}
    )
    assert not decision.allowed
    assert "not available" in decision.reason and "Use Write" in decision.reason
    assert seed_permissions.allowed_tool_names() == {
        "Read",
        "Write",
        "Bash",
        "Grep",
        "Glob",
        "Skill",
        "TodoWrite",
        "SlashCommand",
        "WebFetch",
        "AskUserQuestion",
    }
    description = seed_permissions.describe()
    assert "Bash (any command)" in description
    assert "SlashCommand(/celery:setup *) (django-integrator.md:97)" in description


def test_our_definition_refuses_installs_through_python_m_pip() -> None:
    """`Bash(python *)` is allowed, but installing through `python -m pip` must not slip past the deny rule."""
    from agent.definition import load_definition
    from agent.resources import DEFAULT_DEFINITION

    permissions = Permissions.from_definition(load_definition(DEFAULT_DEFINITION))
    for command in ("pip install celery", "python -m pip install celery", "python3 -m pip install -U celery"):
        assert not permissions.check("Bash", {"command": command}).allowed, command
    assert permissions.check("Bash", {"command": "python -m pip show celery"}).allowed
    assert permissions.check("Bash", {"command": "python manage.py check"}).allowed
