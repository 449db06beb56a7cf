"""The secret guard: what the model writes, reads and runs never carries a secret.

- Write and Edit refuse text that adds a secret (a password inside a URL, an API-key or token shape, a
  private key, a long random-looking value, a random-looking literal given to a secret-named variable such
  as `DB_PASSWORD`); the refusal says to read the value from an environment
  variable and to put a placeholder such as `mysite_dev_your_key_here` in `.env.example`. Only the lines
  the call adds are scanned: a secret the project already had is the user's (hygiene reports it).
- `.env` files (not `.env.example`, `.env.sample`, `.env.template` or `*-sample`) hold real values: Read,
  Grep and Bash commands that name one are refused, so their contents never enter a model's context.
- A Bash command that carries a secret is refused too: shell redirection is no way around Write and Edit.
- Processes the agent starts get an environment without the agent's own model credentials
  (`tools.model_keys`).
- A password inside a URL (`redis://:pw@host`, in the user's settings or in `--broker`) is masked as `**` in
  every tool result before the model, the checkpoint or the transcript sees it; a Write or Edit that would
  put the mask back in place of the password is refused, so the user's file is never corrupted by it.
"""

from __future__ import annotations

import re
from pathlib import Path

from tools.base import ToolError
from tools.django_celery.codemods.secret_scan import (
    URL_PASSWORD,
    Finding,
    added_lines,
    is_placeholder,
    scan_line,
    scan_text,
    secret_assignment,
)

PASSWORD_MASK = "**"
SAMPLE_MARKERS = ("example", "sample", "template", "dist", "defaults")
ENV_FILE_IN_COMMAND = re.compile(r"""(?:^|[\s/'"=<>|;&(])(\.env(?:\.[\w.-]+)?)(?=$|[\s'")|;&>])""")


def is_private_env_file(path: str | Path) -> bool:
    """`.env`, `.env.local`, `.env.production`: files of real values (examples and samples are not)."""
    name = Path(path).name
    if name != ".env" and not name.startswith(".env."):
        return False
    return not any(marker in name.lower() for marker in SAMPLE_MARKERS)


def refuse_private_env_file(path: str | Path) -> None:
    if is_private_env_file(path):
        raise ToolError(
            f"Refused: {Path(path).name} holds real secrets and is never read into the model's context. "
            "Read .env.example (placeholders) for the variable names instead."
        )


def refuse_env_file_in_command(command: str) -> None:
    """A shell command that names a private .env file (cat .env, grep KEY .env.local) is refused."""
    for match in ENV_FILE_IN_COMMAND.finditer(command):
        if is_private_env_file(match.group(1)):
            raise ToolError(
                f"Refused: the command reads {match.group(1)}, which holds real secrets; its contents never "
                "enter the model's context. Use .env.example for the variable names."
            )


def refuse_secrets(rel: str, original: str, updated: str) -> None:
    """Raise when `updated` adds a line that looks like a secret (lines already in `original` are not ours)."""
    added = added_lines(original, updated)
    masked = [
        n for n, line in enumerate(updated.splitlines(), 1) if n in added and f":{PASSWORD_MASK}@" in line
    ]
    if masked:
        raise ToolError(
            f"Refused: line {masked[0]} of {rel} holds a URL whose password you were shown masked as "
            f"`{PASSWORD_MASK}`; writing it would replace the real password. Leave that line as it is (Edit the "
            "lines around it), and read such URLs from an environment variable in new code."
        )
    findings = scan_text(rel, updated, added)
    flagged = {f.where for f in findings}
    findings += [
        Finding(f"{rel}:{number}", "a random-looking value given to a secret-named variable")
        for number, line in enumerate(updated.splitlines(), 1)
        if number in added and f"{rel}:{number}" not in flagged and secret_assignment(line)
    ]
    if findings:
        listed = "; ".join(str(f) for f in findings[:3])
        raise ToolError(
            f"Refused: the change would write a secret ({listed}). Never write one: read the value from an "
            'environment variable (os.environ["NAME"] or the settings\' env reader) and put a placeholder '
            "such as myproject_dev_your_key_here in .env.example."
        )


def refuse_secret_in_command(command: str) -> None:
    """A shell command that carries a secret (`echo KEY=sk-… >> settings.py`, a URL with a password) is
    refused: Write and Edit are guarded, and a command must not be the way around them. Only the certain
    shapes count here (a long mixed-case word in a command is usually a path or a node name, not a key)."""
    found = [what for what in scan_line(command) if not what.startswith("a long random-looking token")]
    if found:
        raise ToolError(
            f"Refused: the command carries a secret ({found[0]}); it would end up in a file, the process list "
            "or a log. Never write one: read the value from an environment variable in the code, and put a "
            "placeholder such as myproject_dev_your_key_here in .env.example."
        )


def mask_url_passwords(text: str) -> str:
    """`text` with the password of every URL replaced by the mask (placeholders such as ${PW} are kept)."""

    def mask(match: re.Match[str]) -> str:
        password = match.group(1)
        if is_placeholder(password) or password == PASSWORD_MASK:
            return match.group(0)
        start, end = match.span(1)
        whole = match.group(0)
        return whole[: start - match.start()] + PASSWORD_MASK + whole[end - match.start() :]

    return URL_PASSWORD.sub(mask, text)
