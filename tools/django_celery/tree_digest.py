"""Content digests of what a project process sees: the project's files, its interpreter's packages, its env.

Two uses. Within a run, an answer of the project's interpreter (discovery's probe, the migration plan) is
asked for again only when one of these digests changed since it was last given. Across runs, a passing
run's live evidence is reused only on a byte-identical tree (`verified_state`).

File contents are hashed once per file version: like git's index, a file whose size, mtime, ctime and
inode are unchanged keeps the hash it had, so digesting a tree again after a few edits reads only the
edited files. Folders that hold no project code are left out (version control, caches, virtualenvs,
node_modules): the interpreter's packages are digested separately, by their installed distributions.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
from pathlib import Path

SKIPPED_DIR_NAMES = frozenset(
    {
        ".git", ".hg", ".svn", "__pycache__", "node_modules", ".tox", ".nox",
        ".mypy_cache", ".pytest_cache", ".ruff_cache", ".idea", ".vscode",
    }
)  # fmt: skip
_PATH_QUERY = "import json, sys; print(json.dumps(sys.path))"

_lock = threading.Lock()
_file_hashes: dict[str, tuple[tuple[int, int, int, int], str]] = {}
_site_dirs: dict[str, list[str]] = {}


def _skipped(folder: os.DirEntry[str]) -> bool:
    return folder.name in SKIPPED_DIR_NAMES or os.path.isfile(os.path.join(folder.path, "pyvenv.cfg"))


def file_hash(path: Path) -> str:
    """sha256 of the file's bytes, read again only when its size, times or inode changed."""
    return _hash(os.fspath(path), os.stat(path))


def _hash(path: str, stat: os.stat_result) -> str:
    signature = (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
    known = _file_hashes.get(path)
    if known and known[0] == signature:
        return known[1]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    with _lock:
        _file_hashes[path] = (signature, digest.hexdigest())
    return digest.hexdigest()


def tree_digest(root: Path, leave_out: frozenset[Path] = frozenset()) -> str:
    """One digest over every file's path and content under `root` (symlinks by their target path), but
    the files in `leave_out` (absolute paths under the resolved root).

    Walked as os.walk would (each folder's files by name, then its folders by name; links to folders not
    entered), with os.scandir's entries: a run digests the tree before most of its questions, and on a
    10,000-file repository the per-file Path objects cost more than the stat calls.
    """
    root = root.resolve()
    digest = hashlib.sha256()
    _digest_folder(os.fspath(root), "", {os.fspath(path) for path in leave_out}, digest)
    return digest.hexdigest()


def _digest_folder(folder: str, prefix: str, leave_out: set[str], digest: hashlib._Hash) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return
    folders = []
    for entry in entries:
        if _is_folder(entry):
            if not entry.is_symlink() and not _skipped(entry):
                folders.append(entry)
            continue
        if entry.path in leave_out:
            continue
        try:
            content = (
                f"-> {os.readlink(entry.path)}" if entry.is_symlink() else _hash(entry.path, entry.stat())
            )
        except OSError as exc:  # vanished or unreadable meanwhile: part of the digest all the same
            content = f"unreadable: {exc.strerror}"
        digest.update(f"{prefix}{entry.name}\0{content}\n".encode())
    for entry in folders:
        _digest_folder(entry.path, f"{prefix}{entry.name}/", leave_out, digest)


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # a link to a folder counts as one, and is never entered
    except OSError:
        return False


def packages_digest(interpreter: str) -> str:
    """The interpreter's installed distributions: name, version and install time of each *-info folder (and
    .pth file) on its import path, so an install, upgrade or removal changes it."""
    with _lock:
        folders = _site_dirs.get(interpreter)
    if folders is None:
        try:
            done = subprocess.run(
                [interpreter, "-c", _PATH_QUERY],
                capture_output=True,
                text=True,
                timeout=30,
                stdin=subprocess.DEVNULL,
            )
            folders = json.loads(done.stdout) if done.returncode == 0 else []
        except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
            folders = []
        with _lock:
            _site_dirs[interpreter] = folders
    digest = hashlib.sha256(f"{interpreter}\0{os.path.realpath(interpreter)}\n".encode())
    for folder in folders:
        if not folder or not os.path.isdir(folder):
            continue
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            if entry.name.endswith((".dist-info", ".egg-info", ".pth", ".egg-link")):
                digest.update(f"{folder}/{entry.name}\0{entry.stat().st_mtime_ns}\n".encode())
    return digest.hexdigest()


# Variables an interactive shell or terminal sets and changes from one window to the next. Settings do
# not configure a project from them (it reads its working folder from os.getcwd(), not $PWD), and keying
# on them would make every run from a new terminal or tmux pane look like a changed project.
SHELL_SESSION_VARIABLES = frozenset(
    {
        "PWD",
        "OLDPWD",
        "SHLVL",
        "_",
        "COLUMNS",
        "LINES",
        "TERM_SESSION_ID",
        "WINDOWID",
        "TMUX",
        "TMUX_PANE",
        "STY",
        "SSH_CLIENT",
        "SSH_CONNECTION",
        "SSH_TTY",
        "SSH_AUTH_SOCK",
        "GPG_TTY",
        "HISTFILE",
        "PS1",
        "SECURITYSESSIONID",
        "XDG_SESSION_ID",
        "XDG_VTNR",
        "DBUS_SESSION_BUS_ADDRESS",
    }
)


def env_digest(env: dict[str, str], env_files: list[str]) -> str:
    """The environment a project process gets, and the contents of the --env-file files it was built from.

    Every variable counts except the shell-session ones above."""
    kept = sorted((name, value) for name, value in env.items() if name not in SHELL_SESSION_VARIABLES)
    digest = hashlib.sha256(json.dumps(kept).encode())
    for file in env_files:
        try:
            digest.update(f"{file}\0{file_hash(Path(file))}\n".encode())
        except OSError:
            digest.update(f"{file}\0missing\n".encode())
    return digest.hexdigest()
