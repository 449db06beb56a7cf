"""Bash: run a shell command in the user's project, under the same undo guarantee as Write and Edit.

A command can change files behind the journal's back, so each run is bracketed: the project's SQLite
database is backed up first (`manage.py migrate` rewrites it), a cheap stat listing of the project is taken
before and after, files the command created are recorded so undo removes them, and any pre-existing file it
changed without a backup is named in a warning. The command runs in its own process group, and the whole
group is killed when it finishes or times out, so no stray worker or `sleep` outlives the call.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

from tools.base import clip, make_tool
from tools.context import ToolContext
from tools.django_celery.session_commands import run_in_session
from tools.lifetime import die_with_parent
from tools.sandbox import PathEscapeError, resolve_in_project
from tools.search import is_skipped_dir
from tools.secret_guard import refuse_env_file_in_command, refuse_secret_in_command

MAX_TIMEOUT = 600.0
MAX_CAPTURE_BYTES = 8 * 1024 * 1024

# project-relative path -> (size, mtime in ns) for files and symlinks, None for folders, "skipped" for
# folders the listing does not enter (virtualenvs, caches, .git)
Listing = dict[str, tuple[int, int] | str | None]


class BashArgs(BaseModel):
    command: str = Field(description="The bash command line, run from the project root.")
    timeout: float | None = Field(
        default=None, gt=0, le=MAX_TIMEOUT, description="Seconds before the command is killed (max 600)."
    )
    description: str | None = Field(
        default=None, description="Five to ten words saying what the command does, shown to the user."
    )


@dataclass
class CommandOutcome:
    exit_code: int | None  # None when the command was killed for running too long
    stdout: str
    stderr: str
    stopped_leftovers: bool  # background processes were still running when the command ended


def build(ctx: ToolContext) -> StructuredTool:
    def bash(command: str, timeout: float | None = None, description: str | None = None) -> str:
        limit = min(timeout or ctx.bash_timeout, MAX_TIMEOUT)
        refuse_env_file_in_command(command)
        refuse_secret_in_command(command)
        backup_sqlite_database(ctx)
        before = list_project(ctx.project_root)
        outcome = run_here_or_in_session(ctx, command, limit)
        notes = reconcile_with_journal(ctx, before, list_project(ctx.project_root))
        return render(outcome, limit, ctx.output_limit // 2, notes)

    return make_tool(
        "Bash",
        BashArgs,
        bash,
        "Run a bash command from the project root with the project's Python first on PATH (e.g. "
        "`python manage.py check`, `celery -A mysite inspect registered`, `pip show celery`). Returns "
        "the exit code, stdout and stderr (each capped). A non-zero exit is a normal result to read. "
        f"Default timeout {ctx.bash_timeout:g}s, at most 600s. Processes still running when the command "
        "ends are stopped, so `&` cannot leave a server running. Change files with Write/Edit, not with "
        "shell redirection or sed: files a command changes cannot always be undone.",
    )


def run_here_or_in_session(ctx: ToolContext, command: str, timeout: float) -> CommandOutcome:
    """In the project session when that runs exactly what bash would (`python manage.py check`), else bash."""
    env = ctx.subprocess_env()
    try:
        done = run_in_session(command, ctx.facts, env, ctx.project_root, timeout)
    except subprocess.TimeoutExpired as exc:
        return CommandOutcome(None, str(exc.output or ""), str(exc.stderr or ""), False)
    if done is not None:
        return CommandOutcome(done.returncode, done.stdout, done.stderr, False)
    return run_in_process_group(command, ctx.project_root, env, timeout)


def backup_sqlite_database(ctx: ToolContext) -> None:
    """Back up the project's SQLite file before a command that might migrate it (no-op for other engines)."""
    facts = ctx.facts
    if facts is None or not facts.database_engine.endswith("sqlite3") or not facts.database_name:
        return
    database = Path(facts.database_name)
    if not database.is_absolute():
        database = Path(facts.root) / facts.base_dir / database
    try:
        resolve_in_project(ctx.project_root, database)
    except PathEscapeError:
        return  # a database outside the project is not the project's to restore
    ctx.journal.backup(database)


def list_project(root: Path) -> Listing:
    """Size and mtime of every file, skipping the folders Glob skips (they are only marked as present)."""
    root = Path(root).resolve()
    listing: Listing = {}
    for dirpath, dirnames, filenames in os.walk(root):
        directory = Path(dirpath)
        entered = []
        for name in dirnames:
            path = directory / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                filenames.append(name)
            elif is_skipped_dir(path):
                listing[rel] = "skipped"
            else:
                listing[rel] = None
                entered.append(name)
        dirnames[:] = entered
        for name in filenames:
            path = directory / name
            try:
                stat = path.lstat()
            except FileNotFoundError:
                continue  # removed while we listed
            listing[path.relative_to(root).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return listing


def run_in_process_group(command: str, cwd: Path, env: dict[str, str], timeout: float) -> CommandOutcome:
    """Run `bash -c command` in a new session; kill the whole group on timeout and when bash exits."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            ["bash", "-c", command],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        try:
            exit_code: int | None = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            exit_code = None
        stopped = _kill_group(process.pid)
        process.wait()
        if stopped:
            _await_group_exit(process.pid)
        return CommandOutcome(
            exit_code, _read_capped(out), _read_capped(err), stopped and exit_code is not None
        )


def _kill_group(group_id: int) -> bool:
    """SIGKILL every process left in the group; True when there was one to kill."""
    try:
        os.killpg(group_id, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


def _await_group_exit(group_id: int, limit_s: float = 2.0) -> None:
    """Wait (bounded) until no live process is left in the killed group: SIGKILL is delivered
    asynchronously, and the caller reports the background processes stopped, which must be true when
    it says so. Zombies count as gone (they run nothing; their reaper may be slow)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and _live_members(group_id):
        time.sleep(0.01)


def _live_members(group_id: int) -> bool:
    proc = Path("/proc")
    if not proc.is_dir():  # no procfs (macOS): killpg(…, 0) is the best question there is
        try:
            os.killpg(group_id, 0)
        except ProcessLookupError:
            return False
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group_id and fields[0] != "Z":  # state, ppid, pgrp
            return True
    return False


def _read_capped(handle: IO[bytes]) -> str:
    size = os.fstat(handle.fileno()).st_size
    handle.seek(0)
    text = handle.read(MAX_CAPTURE_BYTES).decode("utf-8", errors="replace")
    if size > MAX_CAPTURE_BYTES:
        text += f"\n... [{size - MAX_CAPTURE_BYTES} more bytes not captured]"
    return text


def reconcile_with_journal(ctx: ToolContext, before: Listing, after: Listing) -> list[str]:
    """Record what the command created so undo removes it; warn about changes undo cannot reverse."""
    journaled = {entry.path for entry in ctx.journal.index.entries}
    notes = []
    for rel in sorted(after.keys() - before.keys()):
        if after[rel] == "skipped":
            notes.append(
                f"Warning: the command created {rel}/ (a virtualenv or cache folder); undo leaves it."
            )
        else:
            ctx.journal.record_created(rel)
    for rel in sorted(before.keys() & after.keys()):
        if isinstance(before[rel], tuple) and before[rel] != after[rel] and rel not in journaled:
            notes.append(
                f"Warning: the command changed {rel}, which had no backup; undo cannot restore it. "
                "Change files with Write or Edit."
            )
    for rel in sorted(before.keys() - after.keys()):
        if isinstance(before[rel], tuple) and rel not in journaled:
            notes.append(
                f"Warning: the command deleted {rel}, which had no backup; undo cannot bring it back."
            )
    return notes


def render(outcome: CommandOutcome, timeout: float, limit: int, notes: list[str]) -> str:
    if outcome.exit_code is None:
        head = f"Timed out after {timeout:g}s: the command and every process it started were killed."
    else:
        head = f"Exit code: {outcome.exit_code}"
    parts = [head]
    if outcome.stopped_leftovers:
        parts.append("Stopped the background processes the command left running.")
    parts.append("stdout:\n" + (clip(outcome.stdout, limit) if outcome.stdout else "(empty)"))
    parts.append("stderr:\n" + (clip(outcome.stderr, limit) if outcome.stderr else "(empty)"))
    return "\n".join(parts + notes)
