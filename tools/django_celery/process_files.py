"""How the project starts its processes: Procfile, docker compose files, shell scripts, Makefiles.

Settings are not the only place a Celery option lives: many projects start beat with
`celery -A proj beat --scheduler django_celery_beat.schedulers:DatabaseScheduler` in a Procfile or a
compose file, and a check that only reads settings would call that setup broken.
"""

from __future__ import annotations

import re
from pathlib import Path

from tools.django_celery.project_scan import walk_files

PROCESS_FILE = re.compile(r"^(Procfile.*|(docker-)?compose.*\.ya?ml|Makefile|.*\.sh|.*\.conf|.*\.service)$")
BEAT_SCHEDULER = re.compile(r"celery\b.*\bbeat\b.*(?:--scheduler[ =]|-S\s+)(\S+)")


def beat_scheduler_on_command_line(root: Path) -> str | None:
    """ "file:line: beat runs with --scheduler X" for the first process definition that picks beat's
    scheduler on the command line, None when none does."""
    for file in walk_files(root, "", max_depth=3):
        if not PROCESS_FILE.match(file.name):
            continue
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(lines, start=1):
            if match := BEAT_SCHEDULER.search(line):
                rel = file.relative_to(root.resolve())
                return f"{rel}:{number}: beat runs with --scheduler {match.group(1).strip(chr(34) + chr(39))}"
    return None
