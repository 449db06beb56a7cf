"""What discovery must find in each real-world layout; the builders live in `agent.evals.layouts`.

Discovery must handle more than `startproject`: settings packages, cookiecutter-django, `src/` layouts,
settings read through python-decouple or django-environ, tuples extended with `+=`, apps in nested packages.
`LAYOUTS` maps a short name to its builder (the eval recipe) and to the facts discovery is expected to find.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agent.evals import layout_wild, layouts


@dataclass(frozen=True)
class Layout:
    """A layout's builder and what discovery must find in it (paths project-relative)."""

    build: Callable[[Path], Path]
    manage_py: str
    settings_module: str
    settings_files: list[str]
    installed_apps_file: str
    celery_settings_file: str
    project_package: str
    apps: dict[str, tuple[str, str, list[str]]]  # label -> (module, path, models)
    installed_apps_layout: str  # text the layout description starts with
    extra: dict[str, object] = field(default_factory=dict)  # other ProjectFacts fields -> expected value


LAYOUTS: dict[str, Layout] = {
    "single_settings": Layout(
        build=layouts.startproject,
        manage_py="manage.py",
        settings_module="mysite.settings",
        settings_files=["mysite/settings.py"],
        installed_apps_file="mysite/settings.py",
        celery_settings_file="mysite/settings.py",
        project_package="mysite",
        apps={"polls": ("polls", "polls", ["Question", "Choice"])},
        installed_apps_layout="list literal in mysite/settings.py:",
    ),
    "settings_package": Layout(
        build=layouts.settings_package,
        manage_py="manage.py",
        settings_module="mysite.settings.dev",
        settings_files=["mysite/settings/dev.py", "mysite/settings/base.py"],
        installed_apps_file="mysite/settings/base.py",
        celery_settings_file="mysite/settings/base.py",
        project_package="mysite",
        apps={"polls": ("polls", "polls", ["Question", "Choice"])},
        installed_apps_layout="list literal in mysite/settings/base.py:",
    ),
    "cookiecutter": Layout(
        build=layouts.cookiecutter,
        manage_py="manage.py",
        settings_module="config.settings.local",
        settings_files=["config/settings/local.py", "config/settings/base.py"],
        installed_apps_file="config/settings/base.py",
        celery_settings_file="config/settings/base.py",
        project_package="config",
        apps={"users": ("myproj.users", "myproj/users", ["Profile"])},
        installed_apps_layout="concatenation of names [DJANGO_APPS, THIRD_PARTY_APPS, LOCAL_APPS]",
        extra={"time_zone": "America/Chicago"},
    ),
    "src_layout": Layout(
        build=layouts.src_layout,
        manage_py="src/manage.py",
        settings_module="mysite.settings",
        settings_files=["src/mysite/settings.py"],
        installed_apps_file="src/mysite/settings.py",
        celery_settings_file="src/mysite/settings.py",
        project_package="mysite",
        apps={"polls": ("polls", "src/polls", ["Question", "Choice"])},
        installed_apps_layout="list literal in src/mysite/settings.py:",
        extra={
            "base_dir": "src",
            "project_package_dir": "src/mysite",
            "dependency_files": ["pyproject.toml"],
        },
    ),
    "env_settings": Layout(
        build=layouts.env_settings,
        manage_py="manage.py",
        settings_module="mysite.settings",
        settings_files=["mysite/settings.py"],
        installed_apps_file="mysite/settings.py",
        celery_settings_file="mysite/settings.py",
        project_package="mysite",
        apps={"polls": ("polls", "polls", ["Question", "Choice"])},
        installed_apps_layout="list literal in mysite/settings.py:",
        extra={"time_zone": "Europe/Paris", "dependency_files": ["requirements.txt"]},
    ),
    "tuple_extended": Layout(
        build=layouts.tuple_extended,
        manage_py="manage.py",
        settings_module="mysite.settings.dev",
        settings_files=["mysite/settings/dev.py", "mysite/settings/base.py"],
        installed_apps_file="mysite/settings/base.py",
        celery_settings_file="mysite/settings/base.py",
        project_package="mysite",
        apps={"polls": ("polls", "polls", ["Question", "Choice"])},
        installed_apps_layout="tuple literal in mysite/settings/base.py:",
    ),
    "nested_apps": Layout(
        build=layouts.nested_apps,
        manage_py="manage.py",
        settings_module="mysite.settings",
        settings_files=["mysite/settings.py"],
        installed_apps_file="mysite/settings.py",
        celery_settings_file="mysite/settings.py",
        project_package="mysite",
        apps={
            "users": ("apps.users", "apps/users", ["Profile"]),
            "orders": ("apps.orders", "apps/orders", ["Order", "OrderLine"]),
        },
        installed_apps_layout="list literal in mysite/settings.py:",
    ),
    "decouple_env": Layout(
        build=layout_wild.decouple_env,
        manage_py="manage.py",
        settings_module="mysite.settings.local",
        settings_files=["mysite/settings/local.py", "mysite/settings/base.py"],
        installed_apps_file="mysite/settings/base.py",
        celery_settings_file="mysite/settings/base.py",
        project_package="mysite",
        apps={"library": ("mysite.apps.library", "mysite/apps/library", ["SharedFolder"])},
        installed_apps_layout="list literal in mysite/settings/base.py:",
        # pyproject.toml and setup.cfg hold only black's and flake8's settings (style tool-config-only)
        extra={"dependency_files": ["requirements.txt", "pyproject.toml", "setup.cfg"]},
    ),
}
