"""A real terminal for tests: one program in a tmux pane, driven by send-keys and read by capture-pane.

Each pane gets its own tmux server (a private socket), so tests never see each other's panes or a
user's sessions, and the server goes away with the pane.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

TMUX = shutil.which("tmux")
NO_TMUX = "tmux is not installed: `apt-get install -y tmux` (.ci/run installs it when missing)"


class Pane:
    def __init__(
        self, command: list[str], cwd: Path, env: dict[str, str], width: int = 200, height: int = 60
    ):
        assert TMUX is not None, NO_TMUX
        self.socket = f"djint-test-{uuid.uuid4().hex[:8]}"
        self.name = "chat"
        variables = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
        self._tmux(
            "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), "-c", str(cwd),
            *variables, "--", *command,
        )  # fmt: skip
        self._tmux("set-option", "-t", self.name, "remain-on-exit", "on")
        self._tmux("set-option", "-t", self.name, "history-limit", "20000")

    def _tmux(self, *args: str) -> str:
        result = subprocess.run(
            [TMUX, "-L", self.socket, *args], capture_output=True, text=True, check=True, env=os.environ
        )
        return result.stdout

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
        """The program's exit status, once it has ended."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead, _, status = (
                self._tmux("display-message", "-p", "-t", self.name, "#{pane_dead} #{pane_dead_status}")
                .strip()
                .partition(" ")
            )
            if dead == "1":
                return int(status)
            time.sleep(0.1)
        raise AssertionError(f"the program did not end within {timeout} s. Screen:\n{self.text()[-3000:]}")

    def close(self) -> None:
        subprocess.run([TMUX or "tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)
