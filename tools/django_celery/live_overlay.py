"""The verification overlay: settings and state for a live check that never touch the user's project.

Live verification runs the project's own code, but everything it would write goes to a temp folder:
a settings module `djint_verify_settings` there does `from <project settings> import *` and overrides only
what verification needs — the broker (kombu's `filesystem://` in temp folders unless a real broker URL is
given, with our transport class `probes/djint_filesystem_transport.py` copied beside the overlay, since
the stock one loses messages under load), a private auto-delete queue (so a worker of the user's, or of
a parallel run, never takes our task; RabbitMQ drops it when our worker stops, the client probe removes
it from Redis), eager mode off (an eager "round trip" would prove nothing), and for SQLite a temp copy
of the database (so result rows never land in the user's file). The overlay is selected with
DJANGO_SETTINGS_MODULE, which wins over the project's `os.environ.setdefault`, and put first on
PYTHONPATH.

The worker (and later beat) and the client probe all run with `overlay.env`, so they share one view.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel

from tools.django_celery.facts import Decisions, ProjectFacts
from tools.django_celery.project_env import base_dir_of, project_process_env

OVERLAY_MODULE = "djint_verify_settings"
EMBEDDED_BROKER = "filesystem://"
# kombu's filesystem transport with whole-file messages (the stock one loses messages under load)
EMBEDDED_TRANSPORT_SOURCE = Path(__file__).resolve().parent / "probes" / "djint_filesystem_transport.py"
EMBEDDED_TRANSPORT = f"{EMBEDDED_TRANSPORT_SOURCE.stem}:Transport"
REAL_BROKER_SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp")
# Celery reads these before any setting; the overlay decides them, not the agent's shell.
CELERY_URL_VARIABLES = (
    "CELERY_BROKER_URL",
    "CELERY_BROKER_READ_URL",
    "CELERY_BROKER_WRITE_URL",
    "CELERY_RESULT_BACKEND",
)
POLLING_INTERVAL_S = 0.1


class BrokerChoiceError(ValueError):
    """The requested broker cannot be used for live verification (the message says why)."""


class VerificationOverlay(BaseModel):
    """Where the overlay lives and how every verification process must be started."""

    folder: Path
    broker_url: str  # the URL the worker and client use (unmasked: only ever passed to subprocesses)
    embedded: bool
    queue: str  # private queue the worker consumes and the client sends to
    node_prefix: str  # worker node name before "@%h"
    result_backend: str | None  # override, None = the project's own setting
    database_copy: Path | None  # the temp SQLite copy, None when the project's server database is used
    env: dict[str, str]


def mask_url(url: str) -> str:
    """The URL with its password replaced, safe for evidence and logs."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:**@{host}"))


def check_broker_scheme(url: str) -> None:
    """Refuse brokers that cannot carry a live check between two processes, saying what to use."""
    scheme = urlsplit(url).scheme
    if scheme in REAL_BROKER_SCHEMES or url == EMBEDDED_BROKER:
        return
    if scheme == "memory":
        reason = "memory:// lives inside one process, so a worker and a client never meet"
    elif scheme.startswith("sqla"):
        reason = "sqla+ brokers have no fanout, so the worker cannot answer `inspect registered`"
    else:
        reason = f"the scheme {scheme or '(none)'!r} is not supported for live verification"
    raise BrokerChoiceError(
        f"cannot verify with the broker {mask_url(url)}: {reason}. "
        "Use redis://, amqp:// or leave the broker unset for the embedded filesystem:// broker."
    )


def redis_result_backend(broker_url: str | None) -> str | None:
    """Result backend URL for the `redis` decision: CELERY_RESULT_BACKEND, else the broker's Redis db 1."""
    if os.environ.get("CELERY_RESULT_BACKEND"):
        return os.environ["CELERY_RESULT_BACKEND"]
    if broker_url and urlsplit(broker_url).scheme in ("redis", "rediss"):
        return urlunsplit(urlsplit(broker_url)._replace(path="/1"))
    return None


def is_sqlite(facts: ProjectFacts) -> bool:
    return facts.database_engine.endswith("sqlite3")


def copy_sqlite_database(facts: ProjectFacts, folder: Path) -> Path:
    """Copy the project's SQLite file (and its WAL, if any) into `folder`; only ever reads the original."""
    copy = folder / "db.sqlite3"
    source = Path(facts.database_name) if facts.database_name else None
    if source and source.is_file():
        shutil.copyfile(source, copy)
        wal = source.with_name(source.name + "-wal")
        if wal.is_file():
            shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
    return copy


def overlay_source(
    facts: ProjectFacts,
    transport_options: dict[str, object],
    transport: str | None,
    queue: str,
    result_backend: bool,
    database_copy: Path | None,
) -> str:
    """The overlay module's text. URLs come from the environment, so no password is ever written."""
    lines = [
        '"""Live-verification settings written by django-integrator; outside the project, temporary."""',
        "",
        f"from {facts.settings_module} import *  # noqa: F403",
        "",
        "import os as _djint_os",
        "",
        "from kombu import Queue as _DjintQueue",
        "",
        'CELERY_BROKER_URL = _djint_os.environ["CELERY_BROKER_URL"]',
        f"CELERY_BROKER_TRANSPORT_OPTIONS = {transport_options!r}",
        *([f"CELERY_BROKER_TRANSPORT = {transport!r}"] if transport else []),
        f"CELERY_TASK_QUEUES = [_DjintQueue({queue!r}, auto_delete=True)]",
        f"CELERY_TASK_DEFAULT_QUEUE = {queue!r}",
        "CELERY_TASK_ALWAYS_EAGER = False",
    ]
    if result_backend:
        lines.append('CELERY_RESULT_BACKEND = _djint_os.environ["CELERY_RESULT_BACKEND"]')
    if database_copy is not None:
        lines += [
            "",
            "import copy as _djint_copy",
            "",
            "DATABASES = _djint_copy.deepcopy(DATABASES)  # noqa: F405",
            f'DATABASES["default"]["NAME"] = {str(database_copy)!r}',
        ]
    return "\n".join(lines) + "\n"


def build_overlay(
    facts: ProjectFacts, decisions: Decisions, folder: Path, broker_url: str | None
) -> VerificationOverlay:
    """Write the overlay into `folder` (which the caller owns and deletes) and return how to use it."""
    embedded = broker_url is None
    url = EMBEDDED_BROKER if embedded else str(broker_url)
    check_broker_scheme(url)
    transport_options: dict[str, object] = {}
    if embedded:
        folders = [folder / name for name in ("queue", "staging", "processed", "control")]
        queue_folder, staging, processed, control = folders
        for path in folders:
            path.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(EMBEDDED_TRANSPORT_SOURCE, folder / EMBEDDED_TRANSPORT_SOURCE.name)
        transport_options = {
            "data_folder_in": str(queue_folder),
            "data_folder_out": str(queue_folder),
            "staging_folder": str(staging),
            "processed_folder": str(processed),
            "store_processed": True,
            "control_folder": str(control),
            "polling_interval": POLLING_INTERVAL_S,
        }
    token = secrets.token_hex(4)
    queue = f"djint-verify-{token}"
    result_backend = (
        redis_result_backend(None if embedded else url) if decisions.result_backend == "redis" else None
    )
    database_copy = copy_sqlite_database(facts, folder) if is_sqlite(facts) else None
    (folder / f"{OVERLAY_MODULE}.py").write_text(
        overlay_source(
            facts,
            transport_options,
            EMBEDDED_TRANSPORT if embedded else None,
            queue,
            bool(result_backend),
            database_copy,
        )
    )
    env = project_process_env(
        Path(facts.interpreter),
        base_dir_of(facts),
        OVERLAY_MODULE,
        extra_pythonpath=[folder],
        env_files=facts.env_files,
    )
    for variable in CELERY_URL_VARIABLES:
        env.pop(variable, None)
    env["CELERY_BROKER_URL"] = url  # Celery reads it first: ours wins even over Celery(broker=...)
    if result_backend:
        env["CELERY_RESULT_BACKEND"] = result_backend
    env["TMPDIR"] = str(folder)  # the worker's own temp files (billiard's pymp-*) go with the scratch folder
    return VerificationOverlay(
        folder=folder,
        broker_url=url,
        embedded=embedded,
        queue=queue,
        node_prefix=f"djint-{token}",
        result_backend=result_backend,
        database_copy=database_copy,
        env=env,
    )
