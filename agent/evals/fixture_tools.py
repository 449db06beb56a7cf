"""Building blocks for eval fixtures: run Django's own commands, reshape a startproject, make project venvs.

Recipes (agent/evals/layouts.py) start from `django-admin startproject` / `manage.py startapp` and reshape
the result with these helpers the way public projects are laid out. Every command runs as a subprocess
with bytecode writing off, so a fixture holds only what its recipe wrote.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tools.journal import state_home


class FixtureError(RuntimeError):
    """A recipe step failed; the message carries the command and its output."""


def run(args: list[str], cwd: Path, python: Path | None = None, timeout: float = 600) -> str:
    """Run `python args...` (or a plain command when `python` is None and args[0] is a program)."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("VIRTUAL_ENV", None)
    argv = [str(python), *args] if python is not None else args
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise FixtureError(f"`{' '.join(argv)}` failed in {cwd}:\n{(done.stderr or done.stdout)[-3000:]}")
    return done.stdout


def django_admin(args: list[str], cwd: Path, python: Path | None = None) -> None:
    run(["-m", "django", *args], cwd, python or Path(sys.executable))


def manage(project: Path, *args: str, python: Path | None = None) -> str:
    return run(["manage.py", *args], project, python or Path(sys.executable))


def set_settings_module(files: list[Path], module: str) -> None:
    """Point the `setdefault("DJANGO_SETTINGS_MODULE", ...)` line of each file at `module`."""
    for file in files:
        text = file.read_text()
        file.write_text(
            re.sub(r"(setdefault\('DJANGO_SETTINGS_MODULE', ')[\w.]+(')", rf"\g<1>{module}\2", text)
        )


def split_settings(project: Path, package: str, files: dict[str, str]) -> Path:
    """Turn `<package>/settings.py` into a package whose `base.py` is the old file (BASE_DIR one level up)."""
    settings = project / package / "settings.py"
    folder = project / package / "settings"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    base = settings.read_text().replace(
        "BASE_DIR = Path(__file__).resolve().parent.parent",
        "BASE_DIR = Path(__file__).resolve().parent.parent.parent",
    )
    (folder / "base.py").write_text(base)
    settings.unlink()
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def nested_app(project: Path, dotted: str, models: str, python: Path | None = None) -> None:
    """`startapp` into a nested package (e.g. apps/users for "apps.users") and name it by its dotted path."""
    folder = project.joinpath(*dotted.split("."))
    folder.mkdir(parents=True)
    for parent in list(folder.parents)[: len(dotted.split(".")) - 1]:
        (parent / "__init__.py").touch()
    django_admin(["startapp", dotted.rsplit(".", 1)[-1], str(folder)], cwd=project, python=python)
    apps_py = folder / "apps.py"
    apps_py.write_text(re.sub(r"name = '\w+'", f"name = '{dotted}'", apps_py.read_text()))
    (folder / "models.py").write_text(models)


def list_app(settings_file: Path, entry: str) -> None:
    text = settings_file.read_text()
    settings_file.write_text(text.replace("INSTALLED_APPS = [\n", f'INSTALLED_APPS = [\n    "{entry}",\n', 1))


def replace_once(file: Path, old: str, new: str) -> None:
    text = file.read_text()
    if old not in text:
        raise FixtureError(f"{old!r} not found in {file}")
    file.write_text(text.replace(old, new, 1))


def add_import_os(settings: Path) -> None:
    text = settings.read_text()
    if "\nimport os\n" not in text:
        replace_once(settings, "from pathlib import Path\n", "import os\nfrom pathlib import Path\n")


# ----- project virtualenvs ------------------------------------------------------------------------------
def linked_venv(folder: Path) -> Path:
    """A real virtualenv whose packages are this interpreter's, linked in with a .pth file.

    Poetry's in-project `.venv`, uv's `.venv`: discovery must pick them, and they must be able to run the
    project. Linking saves installing Django and Celery into every fixture. (`--system-site-packages`
    would not do: the base interpreter here has no Django.)
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    site = next(folder.glob("lib/python*/site-packages"))
    (site / "agent_site.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return folder / "bin" / "python"


def venv_cache() -> Path:
    return state_home() / "cache" / "venvs"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def cached_venv(name: str, requirements: list[str]) -> Path:
    """A virtualenv with `requirements` from the package registry, built once under the state home.

    Reused across runs and parallel eval jobs (a file lock serialises the build); rebuilt when the
    requirement list changes. Returns the venv folder.
    """
    folder = venv_cache() / name
    marker = folder / "djint-requirements.json"
    with _locked(venv_cache() / f"{name}.lock"):
        if marker.is_file() and json.loads(marker.read_text()) == requirements:
            return folder
        shutil.rmtree(folder, ignore_errors=True)
        run(["-m", "venv", str(folder)], venv_cache(), Path(sys.executable))
        python = folder / "bin" / "python"
        run(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements], folder, python)
        marker.write_text(json.dumps(requirements))
    return folder


def copy_venv(source: Path, dest: Path) -> Path:
    """A private copy of a cached venv (its interpreter link kept), so installing into it changes only it."""
    shutil.copytree(source, dest, symlinks=True)
    return dest / "bin" / "python"
