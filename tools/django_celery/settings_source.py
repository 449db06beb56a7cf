"""Which settings module the project really runs with, and where that answer came from.

manage.py's `os.environ.setdefault("DJANGO_SETTINGS_MODULE", ...)` is the usual source, but many real
projects set none there: the module comes from the shell, from a `.env` file, or from the pytest
configuration (`pytest.ini`, `setup.cfg`, `tox.ini`, `pyproject.toml`). The sources are tried in the
order a developer would expect — what they passed (`--settings`), manage.py, the environment, `.env`,
the test configuration — and when none names one, the error lists the settings modules found in the
project so the user can pick one with `--settings`. Only the one key is ever read from a `.env` file:
its other values (secrets) never enter the agent's state.
"""

from __future__ import annotations

import configparser
import os
import tomllib
from pathlib import Path

from dotenv import dotenv_values
from pydantic import BaseModel

from tools.django_celery.discovery_error import DiscoveryError
from tools.django_celery.project_scan import walk_files

SETTINGS_VARIABLE = "DJANGO_SETTINGS_MODULE"
# (file, section) pairs where pytest-django reads DJANGO_SETTINGS_MODULE, in pytest's own order
PYTEST_INI_SECTIONS = (("pytest.ini", "pytest"), ("tox.ini", "pytest"), ("setup.cfg", "tool:pytest"))
ENV_FILES = (".env",)
PREFERRED_LEAVES = ("local", "dev", "development", "settings", "base")


class SettingsChoice(BaseModel):
    """The settings module and a short phrase saying where it came from (for warnings and evidence)."""

    module: str
    source: str


class SettingsModuleUnknown(DiscoveryError):
    """No source names the settings module; `candidates` are the modules found, most likely first."""

    def __init__(self, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = candidates


def from_environment() -> str | None:
    return os.environ.get(SETTINGS_VARIABLE) or None


def from_env_file(folders: list[Path]) -> tuple[str, Path] | None:
    """DJANGO_SETTINGS_MODULE from the first `.env` in `folders` that sets it (nothing else is kept)."""
    for folder in folders:
        for name in ENV_FILES:
            file = folder / name
            if file.is_file():
                value = dotenv_values(file).get(SETTINGS_VARIABLE)
                if value:
                    return value.strip(), file
    return None


def from_pytest_config(folders: list[Path]) -> tuple[str, Path] | None:
    """DJANGO_SETTINGS_MODULE as pytest-django reads it from the folder's test configuration."""
    for folder in folders:
        for name, section in PYTEST_INI_SECTIONS:
            file = folder / name
            if not file.is_file():
                continue
            parser = configparser.ConfigParser(interpolation=None)
            try:
                parser.read(file, encoding="utf-8")
            except (configparser.Error, UnicodeDecodeError):
                continue
            value = parser.get(section, SETTINGS_VARIABLE, fallback=None) or parser.get(
                section, SETTINGS_VARIABLE.lower(), fallback=None
            )
            if value:
                return value.strip(), file
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            try:
                options = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError):
                continue
            value = options.get("tool", {}).get("pytest", {}).get("ini_options", {}).get(SETTINGS_VARIABLE)
            if isinstance(value, str) and value:
                return value.strip(), pyproject
    return None


def settings_candidates(base_dir: Path) -> list[str]:
    """Dotted modules under `base_dir` that look like settings (settings.py, modules of a settings
    package), the ones developers run locally first."""
    found = []
    base_dir = base_dir.resolve()
    for file in walk_files(base_dir, max_depth=4):
        parts = file.relative_to(base_dir).with_suffix("").parts
        if file.suffix != ".py" or len(parts) < 2 or not (base_dir / parts[0] / "__init__.py").is_file():
            continue
        if parts[-1] == "settings" or (parts[-2] == "settings" and parts[-1] != "__init__"):
            text = file.read_text(encoding="utf-8", errors="replace")
            if "INSTALLED_APPS" in text or "import *" in text:
                found.append(".".join(parts))

    def rank(module: str) -> tuple[int, int, str]:
        leaf = module.rsplit(".", 1)[-1]
        order = PREFERRED_LEAVES.index(leaf) if leaf in PREFERRED_LEAVES else len(PREFERRED_LEAVES)
        return order, module.count("."), module

    return sorted(found, key=rank)


def unknown_settings_error(manage_rel: str, base_dir: Path) -> SettingsModuleUnknown:
    candidates = settings_candidates(base_dir)
    listed = ", ".join(candidates[:8]) or "none found"
    example = candidates[0] if candidates else "<package>.settings"
    return SettingsModuleUnknown(
        f"{manage_rel} does not set {SETTINGS_VARIABLE}, and neither the environment, a .env file nor the "
        f"pytest configuration (pytest.ini, tox.ini, setup.cfg, pyproject.toml) names one, so the settings "
        f"in use are unknown. Settings modules in the project: {listed}. Run again with --settings "
        f"{example} (or export {SETTINGS_VARIABLE}={example}).",
        candidates,
    )
