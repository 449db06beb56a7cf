"""A Celery process (a worker now, beat later) started for verification and always stopped again.

The process runs in its own session, so it and every child it forks (prefork pool) form one process
group that can be signalled at once. A reader thread keeps its merged output so a failure can be shown
with the log tail, and waiters can block until a line matches (the worker's "ready.", a task's
"succeeded"). `stop()` sends SIGTERM to the group (warm shutdown), SIGKILL after a grace period, and then
scans /proc to prove no member of the group is left.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections import deque
from pathlib import Path

from tools.lifetime import die_with_parent

KEEP_LINES = 2000
TAIL_LINES = 40


class LiveProcessError(RuntimeError):
    """The process exited or stayed silent instead of becoming ready; the message carries the log tail."""


def worker_command(interpreter: str, package: str, node_prefix: str, queue: str) -> list[str]:
    """`celery worker` as verification runs it: one prefork child, no gossip or mingle, our queue only."""
    return [
        interpreter,
        "-m",
        "celery",
        "-A",
        package,
        "worker",
        "-l",
        "info",
        "-c",
        "1",
        "-n",
        f"{node_prefix}@%h",
        "-Q",
        queue,
        "--without-gossip",
        "--without-mingle",
    ]


def ready_pattern(node_prefix: str) -> re.Pattern[str]:
    """The worker's "<node> ready." line, for our node only (a project may log its own "ready.")."""
    return re.compile(rf"(?P<node>{re.escape(node_prefix)}@\S+) ready\.")


def group_members(pgid: int) -> list[int]:
    """Pids of live (non-zombie) processes in process group `pgid`, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command: state, ppid, pgrp, ...
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            members.append(int(entry.name))
    return members


class CeleryProcess:
    """One celery command in its own process group, with its output collected by a thread."""

    def __init__(self, command: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.command = command
        self.cwd = cwd
        self.env = env
        self.lines: deque[str] = deque(maxlen=KEEP_LINES)
        self._changed = threading.Condition()
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self.stopped_by = "no signal (it had exited)"
        self._total = 0  # lines read so far, also those the bounded buffer dropped

    @property
    def started(self) -> bool:
        return self._process is not None

    def start(self) -> None:
        self._process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        self._reader = threading.Thread(target=self._read, name="celery-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process and self._process.stdout
        for line in self._process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._total += 1
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def tail(self, count: int = TAIL_LINES) -> str:
        with self._changed:
            return "\n".join(list(self.lines)[-count:])

    def wait_for(self, pattern: re.Pattern[str], timeout: float, what: str) -> re.Match[str]:
        """First output line matching `pattern`; LiveProcessError if the process exits or time runs out."""
        assert self._process
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                unread = min(self._total - seen, len(self.lines))
                for line in list(self.lines)[len(self.lines) - unread :]:
                    if match := pattern.search(line):
                        return match
                seen = self._total
                finished = self._process.poll() is not None and not (self._reader and self._reader.is_alive())
                if finished:
                    raise LiveProcessError(
                        f"exited with code {self._process.returncode} before printing {what}"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LiveProcessError(f"did not print {what} within {timeout:.0f} s")
                self._changed.wait(min(remaining, 0.5))

    def stop(self, grace: float = 10.0, settle: float = 0.0, kill: bool = False) -> list[int]:
        """Stop the whole process group; return the pids still alive afterwards (empty = clean).

        `settle` is how long to let the process finish a shutdown it was already asked for (a remote
        `shutdown` command ends the worker's loop at once, where SIGTERM waits out two 2 s polls of
        the filesystem broker). Then SIGTERM to the group, SIGKILL after `grace`; `stopped_by` says which.
        `kill` sends SIGKILL at once, for a process whose every trace is in a folder about to be removed
        (Celery's warm shutdown spends another 2.5 s joining billiard's pool threads).
        """
        if self._process is None:
            return []
        pgid = self._process.pid  # session leader: its pid is the group id
        if kill and self._process.poll() is None:
            self.stopped_by = "SIGKILL"
            self._signal_group(pgid, signal.SIGKILL)
            self._process.wait(timeout=grace)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=settle)
        if self._process.poll() is None:
            self.stopped_by = "SIGTERM"
            self._signal_group(pgid, signal.SIGTERM)
            try:
                self._process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.stopped_by = "SIGKILL"
                self._signal_group(pgid, signal.SIGKILL)
                self._process.wait(timeout=grace)
        deadline = time.monotonic() + grace
        while group_members(pgid) and time.monotonic() < deadline:
            self._signal_group(pgid, signal.SIGKILL)
            time.sleep(0.05)
        if self._reader:
            self._reader.join(timeout=grace)
        return group_members(pgid)

    @staticmethod
    def _signal_group(pgid: int, signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signum)
