"""The secret guard: what the model writes, reads and runs never carries a secret.

- Write and Edit refuse text that adds a secret (a password inside a URL, an API-key or token shape, a
  private key, a long random-looking value); the refusal says to read the value from an environment
  variable and to put a placeholder such as `mysite_dev_your_key_here` in `.env.example`. Only the lines
  the call adds are scanned: a secret the project already had is the user's (hygiene reports it).
- `.env` files (not `.env.example`, `.env.sample`, `.env.template` or `*-sample`) hold real values: Read,
  Grep and Bash commands that name one are refused, so their contents never enter a model's context.
- Processes the agent starts get an environment without the agent's own model credentials
  (`tools.model_keys`).
"""

from __future__ import annotations

import re
from pathlib import Path

from tools.base import ToolError
from tools.django_celery.codemods.secret_scan import added_lines, scan_text

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
    findings = scan_text(rel, updated, added_lines(original, updated))
    if findings:
        listed = "; ".join(str(f) for f in findings[:3])
        raise ToolError(
            f"Refused: the change would write a secret ({listed}). Never write one: read the value from an "
            'environment variable (os.environ["NAME"] or the settings\' env reader) and put a placeholder '
            "such as myproject_dev_your_key_here in .env.example."
        )
