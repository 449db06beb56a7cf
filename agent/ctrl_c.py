"""Ctrl-C during a run's step, kept until the step has really stopped.

Python runs a signal handler between two bytecodes of the main thread. When that moment falls inside an
at-fork callback — every subprocess started with a `preexec_fn` forks, and `logging` registers such a
callback — the KeyboardInterrupt is printed as "Exception ignored" and lost, and the run goes on as if no
key had been pressed (seen about once in ten presses during verification, under load). The latch
remembers the press: the next event of the run (a tool finishing, a gate's result, a piece of the
model's text) raises it again, and the lost one is not printed.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType, TracebackType
from typing import Any


class CtrlCLatch:
    def __init__(self) -> None:
        self.pressed = False
        self._previous_handler: Any = None
        self._previous_hook: Any = None

    def __enter__(self) -> CtrlCLatch:
        self.pressed = False
        self._previous_handler = signal.signal(signal.SIGINT, self._on_ctrl_c)
        self._previous_hook = sys.unraisablehook
        sys.unraisablehook = self._on_unraisable
        return self

    def __exit__(self, kind: type | None, error: BaseException | None, trace: TracebackType | None) -> None:
        signal.signal(signal.SIGINT, self._previous_handler)
        sys.unraisablehook = self._previous_hook

    def check(self) -> None:
        """Raise the press again when it was lost; called at each event of the run."""
        if self.pressed:
            raise KeyboardInterrupt

    def _on_ctrl_c(self, signum: int, frame: FrameType | None) -> None:
        self.pressed = True
        raise KeyboardInterrupt

    def _on_unraisable(self, unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):  # ours is raised again by check()
            self._previous_hook(unraisable)
