"""Builders of the bad-input corpus (`agent.evals.bad_inputs`): each makes one case's input in a work folder.

Inputs start from a real `startproject mysite` + `startapp polls` template (or from nothing) and are changed
the way users' projects really differ: a settings file that raises, a read-only folder, a second manage.py,
a port taken by another program. A builder returns the `Invocation`: the CLI arguments, extra environment,
the folder that must stay byte-identical, and anything that must run alongside (a fake server, a lock
holder).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

PASSWORD_CANARY = "Pw4Canary" + "Zq8Lm2Xv"  # planted in settings; must never reach a transcript or a report
SETTINGS = "mysite/settings.py"
MODEL_KEY_CANARY = "sk-" + "canary" + "Q7" * 16  # the agent's own model key; never handed on or recorded


@dataclass
class Invocation:
    """What one case runs: CLI arguments (the project path included), extra environment, and the folder that
    must stay byte-identical. `during` is a context kept open while the command runs (a fake server)."""

    args: list[str]
    project: Path | None
    env: dict[str, str] = field(default_factory=dict)
    interrupt_after: str | None = None  # send SIGINT once a progress line containing this is printed
    during: Callable[[], AbstractContextManager[object]] = nullcontext
    discovery_only: bool = False  # run discovery in-process and measure it instead of the CLI


@dataclass(frozen=True)
class BadInput:
    name: str
    behaviour: str  # what a polished tool does, in one line (README, report)
    build: Callable[[Path, Path], Invocation]  # (startproject template, empty work folder) -> invocation
    expect: tuple[str, ...]  # phrases the output must contain (case-insensitive): the problem and the fix
    exit_code: int = 2
    after: Callable[[Path], list[str]] | None = None  # what must hold of the project after a passing run


# ----- builders' helpers -------------------------------------------------------------------------------
def copy_template(template: Path, work: Path, name: str = "mysite") -> Path:
    return Path(shutil.copytree(template, work / name, symlinks=True))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if old not in text:
        raise ValueError(f"{old!r} is not in {path}")
    path.write_text(text.replace(old, new, 1))


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def project_case(change: Callable[[Path], None], *args: str) -> Callable[[Path, Path], Invocation]:
    """A startproject copy changed by `change`, run with `args`."""

    def build(template: Path, work: Path) -> Invocation:
        project = copy_template(template, work)
        change(project)
        return Invocation([str(project), *args], project)

    return build


def flags_case(*args: str) -> Callable[[Path, Path], Invocation]:
    """An unchanged startproject copy, run with bad flags."""
    return project_case(lambda _: None, *args)


@contextmanager
def impostor_server(port: int) -> Iterator[object]:
    """A program that is not a broker, listening on the broker's port (an SSH-like banner, then close)."""
    server = socket.create_server(("127.0.0.1", port))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except OSError:
                continue
            with client:
                client.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join()
        server.close()


# ----- builders that need more than a changed file ----------------------------------------------------
def not_django(template: Path, work: Path) -> Invocation:
    folder = work / "notes"
    folder.mkdir()
    (folder / "README.md").write_text("# Notes\n\nNot a Django project.\n")
    (folder / "app.py").write_text("print('hello')\n")
    return Invocation([str(folder)], folder)


def empty_folder(template: Path, work: Path) -> Invocation:
    (work / "empty").mkdir()
    return Invocation([str(work / "empty")], work / "empty")


def file_not_folder(template: Path, work: Path) -> Invocation:
    project = copy_template(template, work)
    return Invocation([str(project / "manage.py")], project)


def missing_path(template: Path, work: Path) -> Invocation:
    return Invocation([str(work / "no-such-project")], None)


def two_manage_py(template: Path, work: Path) -> Invocation:
    repository = work / "monorepo"
    copy_template(template, repository, "shop")
    copy_template(template, repository, "blog")
    return Invocation([str(repository)], repository)


def symlink_out(template: Path, work: Path) -> Invocation:
    project = copy_template(template, work)
    outside = work / "elsewhere"
    outside.mkdir()
    shutil.move(project / "polls", outside / "polls")
    (project / "polls").symlink_to(outside / "polls")
    return Invocation([str(project)], project)


def ten_thousand_files(template: Path, work: Path) -> Invocation:
    """A repository carrying 10,000 files (vendored assets, fixtures, docs) beside the Django project."""
    project = copy_template(template, work)
    for folder in range(100):
        batch = project / "assets" / f"bundle{folder:03d}"
        batch.mkdir(parents=True)
        for number in range(100):
            suffix = (".js", ".css", ".py", ".txt")[number % 4]
            (batch / f"file{number:03d}{suffix}").write_text(f"// asset {folder}/{number}\n")
    return Invocation([str(project)], project, discovery_only=True)


def missing_interpreter(template: Path, work: Path) -> Invocation:
    project = copy_template(template, work)
    return Invocation([str(project), "--python", str(work / "venv" / "bin" / "python")], project)


def interpreter_without_django(template: Path, work: Path) -> Invocation:
    project = copy_template(template, work)
    venv = work / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    return Invocation([str(project), "--python", str(venv / "bin" / "python")], project)


def not_an_interpreter(template: Path, work: Path) -> Invocation:
    project = copy_template(template, work)
    fake = work / "python"
    fake.write_text("this is not a program\n")
    return Invocation([str(project), "--python", str(fake)], project)


def unreachable_broker(template: Path, work: Path) -> Invocation:
    project = copy_template(template, work)
    return Invocation([str(project), "--broker", f"redis://127.0.0.1:{free_port()}/0"], project)


def port_in_use(template: Path, work: Path) -> Invocation:
    project = copy_template(template, work)
    port = free_port()
    return Invocation(
        [str(project), "--broker", f"redis://127.0.0.1:{port}/0"],
        project,
        during=lambda: impostor_server(port),
    )


def unreachable_database(template: Path, work: Path) -> Invocation:
    project = copy_template(template, work)
    port = free_port()
    edit(
        project / "mysite" / "settings.py",
        "'ENGINE': 'django.db.backends.sqlite3',\n        'NAME': BASE_DIR / 'db.sqlite3',",
        f"'ENGINE': 'django.db.backends.postgresql',\n        'NAME': 'mysite', 'HOST': '127.0.0.1', "
        f"'PORT': {port}, 'USER': 'postgres',",
    )
    return Invocation([str(project)], project)


def model_endpoint_refuses(template: Path, work: Path) -> Invocation:
    project = copy_template(template, work)
    env = {
        "OPENAI_BASE_URL": f"http://127.0.0.1:{free_port()}/v1",
        "OPENAI_API_KEY": MODEL_KEY_CANARY,
        "DJANGO_INTEGRATOR_MAX_RETRIES": "0",
        "DJANGO_INTEGRATOR_TIMEOUT": "5",
    }
    return Invocation([str(project), "--model", "gpt-4o-mini"], project, env=env)


def definition_case(text: str) -> Callable[[Path, Path], Invocation]:
    def build(template: Path, work: Path) -> Invocation:
        project = copy_template(template, work)
        definition = work / "agents" / "broken-agent.md"
        definition.parent.mkdir()
        definition.write_text(text)
        return Invocation([str(project), "--definition", str(definition)], project)

    return build


def agents_dir_unknown_agent(template: Path, work: Path) -> Invocation:
    project = copy_template(template, work)
    plugin = work / "celery-plugin"
    (plugin / "agents").mkdir(parents=True)
    (plugin / ".claude-plugin").mkdir()
    (plugin / ".claude-plugin" / "plugin.json").write_text('{"name": "celery"}\n')
    shutil.copy(Path(__file__).resolve().parents[2] / "prompts" / "django-integrator.md", plugin / "agents")
    args = [str(project), "--agents-dir", str(plugin), "--agent", "celery:django-integrater"]
    return Invocation(args, project)


def locked_project(template: Path, work: Path) -> Invocation:
    """Another run holds the project: its lock names a live process (a sleeping child of this runner)."""
    from agent.run_lock import lock_path

    project = copy_template(template, work)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    home = work / "state"
    path = lock_path(home, project)
    path.parent.mkdir(parents=True)
    path.write_text(
        f'{{"pid": {holder.pid}, "run_id": "20260101-000000-abcdef", "project": "{project.resolve()}", '
        '"started_at": 1767225600.0}'
    )

    @contextmanager
    def holding() -> Iterator[object]:
        try:
            yield holder
        finally:
            holder.kill()
            holder.wait()

    return Invocation([str(project)], project, env={"DJANGO_INTEGRATOR_HOME": str(home)}, during=holding)


def sigint_mid_run(template: Path, work: Path) -> Invocation:
    project = copy_template(template, work)
    return Invocation([str(project)], project, interrupt_after="implementation —")


def env_file_missing(template: Path, work: Path) -> Invocation:
    project = copy_template(template, work)
    return Invocation([str(project), "--env-file", str(work / ".env.dev")], project)


def installed_apps_from_a_function(project: Path) -> None:
    """`INSTALLED_APPS = _installed_apps()`: the same apps, returned by a function of the settings."""
    settings = project / SETTINGS
    text = settings.read_text()
    start = text.index("INSTALLED_APPS = [")
    end = text.index("]\n", start) + 2
    listed = text[start + len("INSTALLED_APPS = ") : end]
    function = f"def _installed_apps():\n    return {listed}\n\nINSTALLED_APPS = _installed_apps()\n"
    settings.write_text(text[:start] + function + text[end:])


def set_password_literal(project: Path) -> None:
    append(project / SETTINGS, f'\nCELERY_BROKER_URL = "redis://:{PASSWORD_CANARY}@127.0.0.1:6379/0"\n')


def with_bom(project: Path) -> None:
    settings = project / SETTINGS
    settings.write_bytes(b"\xef\xbb\xbf" + settings.read_bytes())


def bom_kept(project: Path) -> list[str]:
    kept = (project / SETTINGS).read_bytes().startswith(b"\xef\xbb\xbf")
    return [] if kept else [f"{SETTINGS} lost its byte order mark"]


CRLF_FILES = (SETTINGS, "mysite/__init__.py", "manage.py")


def with_crlf(project: Path) -> None:
    """CRLF files as a Windows editor saves them (startproject's empty __init__ gets a docstring line)."""
    for rel in CRLF_FILES:
        path = project / rel
        text = path.read_bytes() or b'"""The mysite project."""\n'
        path.write_bytes(text.replace(b"\n", b"\r\n"))


def crlf_kept(project: Path) -> list[str]:
    mixed = [rel for rel in CRLF_FILES if (project / rel).read_bytes().replace(b"\r\n", b"").count(b"\n")]
    return [f"{rel} has lines ending in LF among its CRLF lines" for rel in mixed]


def chmod(relative: str, mode: int) -> Callable[[Path], None]:
    return lambda project: os.chmod(project / relative, mode)
