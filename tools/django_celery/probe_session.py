"""A probe process that stays up between questions, so one interpreter start and one `django.setup()` serve
several answers.

Starting the project's interpreter and setting Django up costs 0.3–0.5 s each time; live verification
used to pay it twice in a row (preflight, then the round trip after the worker was ready). A session is
started once, beside the worker, and answers line by line: the probe prints each answer as one
`DJINT_RESULT <json>` line (everything else on stdout is the project's own output and is ignored) and reads
each further request as one JSON line on stdin. Errors come back as `{"ok": False, "error": ...}` payloads,
never as exceptions; `close()` always leaves no process behind.
"""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import threading
from collections import deque
from pathlib import Path
from typing import Any

from tools.django_celery.project_env import RESULT_MARKER
from tools.lifetime import popen_for_life

STDERR_LINES = 200
_EOF = object()


class ProbeSession:
    """One long-lived probe subprocess; `answer()` returns its next `DJINT_RESULT` payload."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str], what: str) -> None:
        self.argv, self.cwd, self.env, self.what = argv, cwd, env, what
        self._process: subprocess.Popen[str] | None = None
        self._answers: queue.Queue[Any] = queue.Queue()
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._process = popen_for_life(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        for target in (self._read_answers, self._read_stderr):
            thread = threading.Thread(target=target, name=f"{self.what}-output", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _read_answers(self) -> None:
        assert self._process and self._process.stdout
        for line in self._process.stdout:
            if line.startswith(RESULT_MARKER):
                try:
                    self._answers.put(json.loads(line[len(RESULT_MARKER) :]))
                except json.JSONDecodeError as exc:
                    self._answers.put(
                        {"ok": False, "error": f"the {self.what} printed a broken answer: {exc}"}
                    )
        self._answers.put(_EOF)

    def _read_stderr(self) -> None:
        assert self._process and self._process.stderr
        for line in self._process.stderr:
            self._stderr.append(line.rstrip("\n"))

    def answer(self, timeout: float, request: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send `request` (when given) and wait for the next answer; an error payload when none comes."""
        if self._process is None:
            return {"ok": False, "error": f"the {self.what} was never started"}
        if request is not None:
            try:
                assert self._process.stdin is not None
                self._process.stdin.write(json.dumps(request) + "\n")
                self._process.stdin.flush()
            except (BrokenPipeError, OSError):
                pass  # it has exited; the answer queue says how
        try:
            payload = self._answers.get(timeout=timeout)
        except queue.Empty:
            return {"ok": False, "error": f"the {self.what} gave no answer within {timeout:.0f} s"}
        if payload is _EOF:
            self._answers.put(_EOF)  # every later question gets the same answer
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=5)
            tail = "\n".join(list(self._stderr)[-40:]) or "(no output)"
            return {"ok": False, "error": f"the {self.what} crashed:\n{tail[-2000:]}"}
        return payload

    def close(self) -> None:
        """End the session by killing it: it has answered everything it was asked and holds nothing of
        the project open, so waiting for its interpreter to tear Django (and Celery) down would only add
        0.1-0.2 s to the run."""
        if self._process is None:
            return
        with contextlib.suppress(OSError):
            assert self._process.stdin is not None
            self._process.stdin.close()
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait(timeout=10)
        for thread in self._threads:
            thread.join(timeout=5)
