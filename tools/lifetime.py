"""Child processes die with the agent: a SIGKILLed run must not leave a Celery worker or a shell behind.

Workers and shell commands run in their own session (so a timeout can kill their whole group), which also
puts them out of reach of a signal sent to the agent's process group. `die_with_parent` is the
`preexec_fn` that closes that gap on Linux: prctl(PR_SET_PDEATHSIG, SIGKILL) makes the kernel kill the
child the moment the thread that started it is gone, however the agent ended. Elsewhere it does nothing.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

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
