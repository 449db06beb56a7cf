"""JSON Lines transcripts: one event per line, secrets redacted before anything reaches the disk (values of
secret environment variables and API keys by name, passwords inside URLs masked as `**`).

Events: `header` (definition hash, model, versions, options), `phase`, `model_request`/`model_response`
(for ChatOpenAI the OpenAI wire payloads, usage included), `tool_call`/`tool_result`, `gate`,
`interrupt`/`answer`, `report`. Replay reads them back with `read_transcript`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from tools.secret_guard import mask_url_passwords

SECRET_NAME = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)
MIN_SECRET_LENGTH = 8


def secret_values(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Environment values that must never be written: anything whose variable name says it is secret."""
    env = os.environ if environ is None else environ
    return {
        value: name
        for name, value in env.items()
        if SECRET_NAME.search(name) and len(value) >= MIN_SECRET_LENGTH
    }


def redact(text: str, secrets: dict[str, str]) -> str:
    for value, name in secrets.items():
        if value in text:
            text = text.replace(value, f"[redacted:{name}]")
    return text


def package_versions() -> dict[str, str]:
    names = ("django-integrator", "langgraph", "langchain-core", "langchain-openai", "libcst", "pydantic")
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_run_header(
    transcript: TranscriptWriter, run_id: str, definition: Path, model_label: str, options: dict[str, Any]
) -> None:
    """A run's first event: what ran it (definition, model, versions) and its options (resume reads them)."""
    transcript.write(
        "header",
        run_id=run_id,
        definition=str(definition),
        definition_sha256=file_sha256(definition),
        model=model_label,
        versions=package_versions(),
        options=options,
        started_at=time.time(),
    )


class TranscriptWriter:
    """Appends events to a JSONL file; thread-safe, flushed per line so a crash keeps what happened."""

    def __init__(self, path: Path, secrets: dict[str, str] | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._secrets = secret_values() if secrets is None else secrets
        self._lock = threading.Lock()

    def add_secret(self, value: str | None, name: str) -> None:
        """Redact a value that did not come from the environment (an API key passed in code)."""
        if value and len(value) >= MIN_SECRET_LENGTH:
            self._secrets[value] = name

    def write(self, event_type: str, **fields: Any) -> None:
        event = {"type": event_type, "ts": round(time.time(), 3), **fields}
        line = json.dumps(event, default=_json_default, ensure_ascii=False)
        line = mask_url_passwords(redact(line, self._secrets))
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def _json_default(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return repr(value)


def read_transcript(path: Path) -> Iterator[dict[str, Any]]:
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{number}: not a JSON transcript line ({exc.msg})") from exc
