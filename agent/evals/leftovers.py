"""What a run may leave behind that it must not: processes of the project, and secrets in its records.

Used by the kill points and the bad-input corpus after each run: a worker or shell still running in the
project's folder, or a planted secret (a password in the settings, the agent's model key) found in the
output or anywhere in the state folder, is counted. Journal backups are skipped: they are byte copies of the
user's own files, kept outside the project so that undo can restore them.
"""

from __future__ import annotations

import os
from pathlib import Path


def processes_touching(folder: Path) -> list[int]:
    """Live processes whose command line or working directory lies in `folder` (workers, shells, probes)."""
    found = []
    needle = str(folder)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z" and (needle in cmdline or cwd == needle or cwd.startswith(needle + os.sep)):
            found.append(int(entry.name))
    return found


def command_line(pid: int) -> str:
    """What a process runs (and where), for a message naming a survivor."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        return f"{pid}: {args[:200]} (in {os.readlink(f'/proc/{pid}/cwd')})"
    except OSError:
        return f"{pid}: gone"


def processes_holding(folder: Path, secret: str) -> list[int]:
    """Processes of the project (see processes_touching) whose environment contains `secret`."""
    holding = []
    for pid in processes_touching(folder):
        try:
            if secret.encode() in Path(f"/proc/{pid}/environ").read_bytes():
                holding.append(pid)
        except OSError:
            continue
    return holding


def canaries_in(output: str, state_home: Path, canaries: tuple[str, ...]) -> list[str]:
    """Where a planted secret was written: 'output', or state files (relative paths), journal backups aside."""
    found = [f"output: {c[:6]}…" for c in canaries if c in output]
    if not state_home.is_dir():
        return found
    needles = [c.encode() for c in canaries]
    for path in sorted(state_home.rglob("*")):
        if not path.is_file() or "backups" in path.relative_to(state_home).parts:
            continue
        data = path.read_bytes()
        found += [f"{path.relative_to(state_home)}: {n[:6].decode()}…" for n in needles if n in data]
    return found
