"""Child processes die with the agent: a SIGKILLed run must not leave a Celery worker or a shell behind.

Workers and shell commands run in their own session (so a timeout can kill their whole group), which also
puts them out of reach of a signal sent to the agent's process group. `die_with_parent` is the
`preexec_fn` that closes that gap on Linux: prctl(PR_SET_PDEATHSIG, SIGKILL) makes the kernel kill the
child the moment the thread that started it is gone, however the agent ended. Elsewhere it does nothing.
"""

from __future__ import annotations

import ctypes
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

PR_SET_PDEATHSIG = 1


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists (one owned by another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


_spawns: queue.Queue[tuple[Callable[[], subprocess.Popen], Future]] = queue.Queue()
_spawner_lock = threading.Lock()
_spawner: threading.Thread | None = None


def popen_for_life(*args: Any, **kwargs: Any) -> subprocess.Popen:
    """`subprocess.Popen(*args, **kwargs, preexec_fn=die_with_parent)` started from one thread that lives as
    long as the agent's process.

    The parent-death signal fires when the *thread* that started the child ends, not the process: a
    process meant to outlive the call that started it (a project session started by discovery's
    prefetch thread) must be started from a thread that never ends before the process does.
    """
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = threading.Thread(target=_spawn_forever, name="spawner", daemon=True)
            _spawner.start()
    done: Future = Future()
    _spawns.put((lambda: subprocess.Popen(*args, **kwargs, preexec_fn=die_with_parent), done))
    return done.result()


def _spawn_forever() -> None:
    while True:
        start, done = _spawns.get()
        try:
            done.set_result(start())
        except BaseException as exc:  # handed to the caller, who raises it in its own thread
            done.set_exception(exc)
