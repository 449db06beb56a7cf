"""The secret guard on the real tools: no secret written, no private .env read, no model key handed on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tool_support import make_ctx, snapshot
from tools import files, search, shell

FAKE_OPENAI_KEY = "sk-" + "Zx9" * 12  # the shape of a key, assembled so no key literal sits in the repo
SECRETS = [
    ('KEY = "' + FAKE_OPENAI_KEY + '"\n', "an OpenAI-style API key"),
    ('BROKER = "redis://:hunter2hunter2@cache:6379/0"\n', "a password inside a URL"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIB\n", "a private key"),
    ('TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0aa55"\n', "a long random-looking token"),
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
