"""The secret guard on the real tools: no secret written, no private .env read, no model key handed on."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.definition import load_definition
from agent.executor import execute_calls
from agent.permissions import Permissions
from agent.resources import DEFAULT_DEFINITION
from agent.transcript import TranscriptWriter
from tests.tool_support import make_ctx, snapshot
from tools import files, search, shell

FAKE_OPENAI_KEY = "sk-" + "Zx9" * 12  # the shape of a key, assembled so no key literal sits in the repo
SECRETS = [
    ('KEY = "' + FAKE_OPENAI_KEY + '"\n', "an OpenAI-style API key"),
    ('BROKER = "redis://:hunter2hunter2@cache:6379/0"\n', "a password inside a URL"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIB\n", "a private key"),
    ('TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0aa55"\n', "a long random-looking token"),
    ('DATABASE_PASSWORD = "Xk9mQ2vL7pR4nT1"\n', "a random-looking value given to a secret-named variable"),
    ('"api_key": "a1B2c3D4e5F6g7h8",\n', "a random-looking value given to a secret-named variable"),
]


@pytest.mark.parametrize(("text", "what"), SECRETS, ids=[w for _, w in SECRETS])
def test_write_and_edit_refuse_a_secret(text: str, what: str, startproject: Path, tmp_path: Path) -> None:
    _, write, edit = files.build(make_ctx(startproject, tmp_path))
    before = snapshot(startproject)
    refused = write.invoke({"path": "mysite/keys.py", "content": text})
    assert refused.startswith("Error: Refused: the change would write a secret") and what in refused
    assert "environment variable" in refused and "myproject_dev_your_key_here" in refused
    refused = edit.invoke({"path": "mysite/settings.py", "old_string": "DEBUG = True", "new_string": text})
    assert "Refused" in refused and what in refused
    assert snapshot(startproject) == before


def test_placeholders_and_a_secret_the_project_already_had_are_not_refused(
    startproject: Path, tmp_path: Path
) -> None:
    _, write, edit = files.build(make_ctx(startproject, tmp_path))
    placeholder = 'SECRET_KEY = os.environ.get("SECRET_KEY", "mysite_dev_your_key_here")\n'
    assert write.invoke({"path": "mysite/keys.py", "content": placeholder}).startswith("Created")
    settings = startproject / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + 'BROKER = "redis://:hunter2hunter2@cache:6379/0"\n')
    assert edit.invoke(
        {"path": "mysite/settings.py", "old_string": "DEBUG = True", "new_string": "DEBUG = False"}
    ).startswith("Edited")


def test_private_env_files_never_reach_the_model(startproject: Path, tmp_path: Path) -> None:
    (startproject / ".env").write_text("SECRET_KEY=real-value-from-the-user\n")
    (startproject / ".env.production").write_text("SECRET_KEY=real-value-from-the-user\n")
    (startproject / ".env.example").write_text("SECRET_KEY=mysite_dev_your_key_here\n")
    ctx = make_ctx(startproject, tmp_path)
    read, _, _ = files.build(ctx)
    for name in (".env", ".env.production"):
        refused = read.invoke({"path": name})
        assert refused.startswith("Error: Refused:") and "real-value" not in refused
    assert "mysite_dev_your_key_here" in read.invoke({"path": ".env.example"})
    grep = next(t for t in search.build(ctx) if t.name == "Grep")
    found = grep.invoke({"pattern": "SECRET_KEY", "output_mode": "content"})
    assert "real-value" not in found and ".env.example" in found
    bash = shell.build(ctx)
    for command in ("cat .env", "grep SECRET .env.production", "source ./.env && env"):
        refused = bash.invoke({"command": command})
        assert "Refused" in refused and "real-value" not in refused
    assert "mysite_dev_your_key_here" in bash.invoke({"command": "cat .env.example"})


def test_commands_do_not_get_the_agents_model_key(
    startproject: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_OPENAI_KEY)
    monkeypatch.setenv("DJINT_UNRELATED", "kept")
    bash = shell.build(make_ctx(startproject, tmp_path))
    out = bash.invoke({"command": "env"})
    assert FAKE_OPENAI_KEY not in out and "OPENAI_API_KEY" not in out and "DJINT_UNRELATED=kept" in out


PASSWORD = "Pw4" + "Canary" + "Zq8Lm2Xv"  # assembled: no password literal sits in the repository


def test_a_url_password_never_reaches_the_model_and_cannot_be_written_back(
    startproject: Path, tmp_path: Path
) -> None:
    """The user's settings hold a broker URL with a password. Read, Grep and Bash results reach the model
    (and the transcript) with it masked; writing the masked URL back is refused, so the file keeps it."""
    settings = startproject / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + f'CELERY_BROKER_URL = "redis://:{PASSWORD}@cache:6379/0"\n')
    ctx = make_ctx(startproject, tmp_path)
    tools = {t.name: t for t in [*files.build(ctx), *search.build(ctx), shell.build(ctx)]}
    permissions = Permissions.from_definition(load_definition(DEFAULT_DEFINITION), project_root=startproject)
    transcript = TranscriptWriter(tmp_path / "transcript.jsonl", secrets={})
    calls = [
        {"id": "1", "name": "Read", "args": {"path": "mysite/settings.py"}},
        {"id": "2", "name": "Grep", "args": {"pattern": "CELERY_BROKER_URL", "output_mode": "content"}},
        {"id": "3", "name": "Bash", "args": {"command": "cat mysite/settings.py"}},
    ]
    outcome = execute_calls(calls, [], tools, permissions, ctx, {}, transcript, "discovery")
    for message in outcome.messages:
        assert PASSWORD not in message.content and "redis://:**@cache:6379/0" in message.content
    assert PASSWORD not in (tmp_path / "transcript.jsonl").read_text()

    before = settings.read_bytes()
    masked_line = 'CELERY_BROKER_URL = "redis://:**@cache:6379/0"'
    refused = tools["Edit"].invoke(
        {"path": "mysite/settings.py", "old_string": "DEBUG = True", "new_string": masked_line}
    )
    assert "masked" in refused and "Refused" in refused
    shown = settings.read_text().replace(PASSWORD, "**").replace("DEBUG = True", "DEBUG = False")
    refused = tools["Write"].invoke({"path": "mysite/settings.py", "content": shown})
    assert "masked" in refused and settings.read_bytes() == before


def test_a_shell_command_carrying_a_secret_is_refused(startproject: Path, tmp_path: Path) -> None:
    bash = shell.build(make_ctx(startproject, tmp_path))
    before = snapshot(startproject)
    for command in (
        f"echo 'OPENAI_API_KEY={FAKE_OPENAI_KEY}' >> mysite/settings.py",
        f"celery -A mysite inspect ping -b redis://:{PASSWORD}@cache:6379/0",
        "printf -- '-----BEGIN RSA PRIVATE KEY-----' > key.pem",
    ):
        refused = bash.invoke({"command": command})
        assert (
            refused.startswith("Error: Refused: the command carries a secret")
            and "environment variable" in refused
        )
    assert snapshot(startproject) == before
    assert "Refused" not in bash.invoke({"command": "python manage.py check --settings mysite.settings"})
