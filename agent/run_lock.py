"""One run at a time per project: a lock file in the state folder, naming the run and process that hold it.

Two runs editing the same files would interleave their journals, so `undo` could no longer restore either
project state. The lock is created atomically (`O_CREAT | O_EXCL`); a second run on the project is refused
with a message naming the holder's run id and pid. A lock whose process is gone (a run that was SIGKILLed,
a closed terminal) is stale: the next run takes it over, so a crash never blocks the project for good.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from pydantic import BaseModel, ValidationError

from tools.lifetime import process_alive


class ProjectLocked(ValueError):
    """Another live run holds the project; the message names it and the fix."""


class LockHolder(BaseModel):
    pid: int
    run_id: str
    project: str
    started_at: float


def lock_path(home: Path, project: Path) -> Path:
    """The lock of this project (one file per resolved project path) under the state folder."""
    digest = hashlib.sha256(str(project.resolve()).encode()).hexdigest()[:16]
    return home / "locks" / f"{digest}.json"


def _read(path: Path) -> LockHolder | None:
    """The holder recorded in the file; None when it is unreadable (a half-written lock: treated as stale)."""
    try:
        return LockHolder.model_validate_json(path.read_text())
    except (OSError, ValidationError, ValueError):
        return None


class RunLock:
    """The held lock of one run; `release` removes it only while it is still this run's."""

    def __init__(self, path: Path, holder: LockHolder) -> None:
        self.path = path
        self.holder = holder

    @classmethod
    def acquire(cls, home: Path, project: Path, run_id: str) -> RunLock:
        path = lock_path(home, project)
        path.parent.mkdir(parents=True, exist_ok=True)
        holder = LockHolder(
            pid=os.getpid(), run_id=run_id, project=str(project.resolve()), started_at=time.time()
        )
        for _ in range(3):  # a stale lock removed by a racing run: try again
            try:
                descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                current = _read(path)
                if current is not None and process_alive(current.pid):
                    raise ProjectLocked(
                        f"{holder.project} is being integrated by run {current.run_id} (pid {current.pid}, "
                        f"started {time.strftime('%H:%M:%S', time.localtime(current.started_at))}); "
                        "only one run at a time may change a project. Wait for it to finish, or stop that "
                        f"process (kill {current.pid}) and run again. Lock: {path}"
                    ) from None
                path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            with os.fdopen(descriptor, "w") as handle:
                handle.write(json.dumps(holder.model_dump()))
            return cls(path, holder)
        raise ProjectLocked(f"could not take the lock {path}; another run keeps replacing it. Run again.")

    def release(self) -> None:
        current = _read(self.path)
        if current is not None and current.pid == self.holder.pid and current.run_id == self.holder.run_id:
            self.path.unlink(missing_ok=True)
