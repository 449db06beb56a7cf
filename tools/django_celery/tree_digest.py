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


def _skipped(folder: Path) -> bool:
    return folder.name in SKIPPED_DIR_NAMES or (folder / "pyvenv.cfg").is_file()


def file_hash(path: Path) -> str:
    """sha256 of the file's bytes, read again only when its size, times or inode changed."""
    stat = path.stat()
    signature = (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
    key = str(path)
    with _lock:
        known = _file_hashes.get(key)
    if known and known[0] == signature:
        return known[1]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    with _lock:
        _file_hashes[key] = (signature, digest.hexdigest())
    return digest.hexdigest()


def tree_digest(root: Path, leave_out: frozenset[Path] = frozenset()) -> str:
    """One digest over every file's path and content under `root` (symlinks by their target path), but
    the files in `leave_out` (absolute paths under the resolved root)."""
    root = root.resolve()
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not _skipped(here / d))
        for name in sorted(files):
            path = here / name
            if path in leave_out:
                continue
            rel = path.relative_to(root).as_posix()
            try:
                content = f"-> {os.readlink(path)}" if path.is_symlink() else file_hash(path)
            except OSError as exc:  # vanished or unreadable meanwhile: part of the digest all the same
                content = f"unreadable: {exc.strerror}"
            digest.update(f"{rel}\0{content}\n".encode())
    return digest.hexdigest()


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


def env_digest(env: dict[str, str], env_files: list[str]) -> str:
    """The environment a project process gets, and the contents of the --env-file files it was built from."""
    digest = hashlib.sha256(json.dumps(sorted(env.items())).encode())
    for file in env_files:
        try:
            digest.update(f"{file}\0{file_hash(Path(file))}\n".encode())
        except OSError:
            digest.update(f"{file}\0missing\n".encode())
    return digest.hexdigest()
