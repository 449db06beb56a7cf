"""A real terminal for tests: one program in a tmux pane, driven by send-keys and read by capture-pane.

Each pane gets its own tmux server (a private socket), so tests never see each other's panes or a
user's sessions, and the server goes away with the pane.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

TMUX = shutil.which("tmux")
NO_TMUX = "tmux is not installed: `apt-get install -y tmux` (.ci/run installs it when missing)"
EXITED = "[program exited with status "
# Runs the program and prints its exit status in the pane: tmux, loaded, can take long to notice that a
# pane's process ended. Ctrl-C reaches the program (SIGINT restored to default in it), never the wrapper.
WRAPPER = f"""
import signal, subprocess, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
status = subprocess.call(sys.argv[1:], preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
print("{EXITED}%d]" % status, flush=True)
time.sleep(600)
"""


# Set before the program starts: its size from the first moment, all of its output kept.
CONFIG = "set -g default-size {width}x{height}\nset -g history-limit 20000\n"


class Pane:
    def __init__(
        self, command: list[str], cwd: Path, env: dict[str, str], width: int = 200, height: int = 60
    ):
        assert TMUX is not None, NO_TMUX
        self.socket = f"djint-test-{uuid.uuid4().hex[:8]}"
        self.config = cwd / f".{self.socket}.conf"
        self.config.write_text(CONFIG.format(width=width, height=height))
        self.name = "chat"
        variables = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
        self._tmux(
            "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), "-c", str(cwd),
            *variables, "--", sys.executable, "-c", WRAPPER, *command,
        )  # fmt: skip

    def _tmux(self, *args: str) -> str:
        command = [TMUX or "tmux", "-f", str(self.config), "-L", self.socket, *args]
        return subprocess.run(command, capture_output=True, text=True, check=True, env=os.environ).stdout

    def type(self, text: str) -> None:
        """Type `text` and press Enter, as a person would."""
        if text:
            self._tmux("send-keys", "-t", self.name, "-l", text)
        self._tmux("send-keys", "-t", self.name, "Enter")

    def key(self, key: str) -> None:
        self._tmux("send-keys", "-t", self.name, key)

    def text(self) -> str:
        """Everything the pane has shown, wrapped lines joined."""
        return self._tmux("capture-pane", "-p", "-J", "-S", "-", "-t", self.name)

    def wait_for(self, needle: str, timeout: float = 30.0, count: int = 1) -> str:
        """Wait until `needle` has been shown `count` times; fail with the screen when it is not."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.text()
            if screen.count(needle) >= count:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{needle!r} (x{count}) not shown within {timeout} s. Screen:\n{screen[-4000:]}"
                )
            time.sleep(0.1)

    def exit_status(self, timeout: float = 20.0) -> int:
        """The program's exit status, once it has ended (as the wrapper prints it)."""
        screen = self.wait_for(EXITED, timeout)
        return int(screen.rsplit(EXITED, 1)[1].split("]", 1)[0])

    def close(self) -> None:
        socket = self._tmux("display-message", "-p", "#{socket_path}").strip()
        subprocess.run([TMUX or "tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)
        Path(socket).unlink(missing_ok=True)  # tmux leaves its socket file behind
        self.config.unlink(missing_ok=True)
