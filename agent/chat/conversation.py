"""A chat conversation kept on disk, so `chat --resume` continues the last one held on a project.

One JSON Lines file per conversation under `<state home>/chats/<project key>/`, appended as it goes (a
killed terminal loses nothing): what the user typed, the model's replies, the commands, and each run's
id and outcome. Resuming shows the end of it, gives the model its earlier exchanges back, and picks up the
run it was on. Nothing secret is written: free text and replies only, never environment values.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from pathlib import Path
from typing import Any

RECAP_ENTRIES = 6  # how much of the earlier conversation `--resume` shows


def project_key(project: str | Path) -> str:
    return hashlib.sha256(str(Path(project).resolve()).encode()).hexdigest()[:16]


class Conversation:
    def __init__(self, path: Path, entries: list[dict[str, Any]]) -> None:
        self.path = path
        self.entries = entries

    @classmethod
    def start(cls, home: Path, project: str | Path) -> Conversation:
        folder = home / "chats" / project_key(project)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}.jsonl"
        conversation = cls(path, [])
        conversation.add("start", project=str(Path(project).resolve()))
        return conversation

    @classmethod
    def latest(cls, home: Path, project: str | Path) -> Conversation | None:
        """The conversation last written to on `project`, or None when there has been none."""
        folder = home / "chats" / project_key(project)
        files = sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
        if not files:
            return None
        lines = files[-1].read_text(encoding="utf-8").splitlines()
        return cls(files[-1], [json.loads(line) for line in lines if line.strip()])

    def add(self, kind: str, **data: Any) -> None:
        entry = {"type": kind, "at": time.time(), **data}
        self.entries.append(entry)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")

    def exchanges(self) -> list[tuple[str, str]]:
        """(role, text) of the free-text exchanges, oldest first: role is "user" or "assistant"."""
        return [(e["type"], e["text"]) for e in self.entries if e["type"] in ("user", "assistant")]

    def recap(self) -> list[tuple[str, str]]:
        """The last few things said or typed, as (who, text) for the screen."""
        shown = [e for e in self.entries if e["type"] in ("user", "assistant", "command")]
        return [("›" if e["type"] != "assistant" else "●", e.get("text") or e["line"]) for e in shown][
            -RECAP_ENTRIES:
        ]

    def last_run(self) -> dict[str, Any] | None:
        """The latest run entry: {"run_id", "status"} (status: started, paused, passed, failed, undone, …)."""
        return next((e for e in reversed(self.entries) if e["type"] == "run"), None)
