"""Discover a Django project: where it is, which settings it really uses, what Django sees, what Celery it has.

Static first (manage.py, the settings files, the project's code, read without importing anything), then
one probe subprocess in the project's own interpreter for what only Django can tell (apps, models, database,
installed versions). Anything that stops discovery is a DiscoveryError that names the problem and the fix;
anything odd but survivable becomes a warning in `ProjectFacts.warnings`.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

from tools.django_celery.codemods.eager_mode import eager_assignments_in
from tools.django_celery.codemods.env_urls import literal_urls_in
from tools.django_celery.codemods.settings_chain import project_chain
from tools.django_celery.codemods.source import disk_reader
from tools.django_celery.codemods.url_passwords import password_assignments_in
from tools.django_celery.discovery_error import DiscoveryError
from tools.django_celery.facts import AppInfo, ExistingCelery, InstalledPackages, ProjectFacts
from tools.django_celery.interpreter import find_interpreter
from tools.django_celery.old_setting_names import OLD_TO_NAMESPACED, is_old_style
from tools.django_celery.project_probe import ProbeReport, run_probe
from tools.django_celery.project_scan import (
    dependency_styles,
    dispatch_sites,
    dotted_module,
    find_celery_app,
    init_loads_app,
    is_skipped_dir,
    task_names,
    walk_files,
)
from tools.django_celery.settings_map import SettingsMap, map_settings, settings_file_for, syntax_error
from tools.django_celery.settings_source import (
    SETTINGS_VARIABLE,
    SettingsChoice,
    from_env_file,
    from_environment,
    from_pytest_config,
    unknown_settings_error,
)
from tools.sandbox import PathEscapeError, relative_to_project, resolve_in_project

__all__ = ["DiscoveryError", "discover_project", "locate_manage_py", "settings_choice", "settings_module_in"]

MANAGE_PY_DEPTH = 4  # folder levels below the root searched for manage.py
_URL_PASSWORD = re.compile(r"(\w[\w+.-]*://[^:/@\s'\"]*:)([^@\s'\"]+)(@)")


def discover_project(
    root: Path,
    python: str | os.PathLike[str] | None = None,
    settings_module: str | None = None,
    env_files: list[str] | None = None,
) -> ProjectFacts:
    """Everything later phases need about the project at `root`, using `python` (or the one found) to load
    it; `settings_module` (from --settings) wins over every other source of DJANGO_SETTINGS_MODULE, and
    `env_files` (--env-file) feed the environment of every process that imports the project."""
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise DiscoveryError(
            f"{root} is not a folder. Pass the folder of your Django project (the one with manage.py)."
        )
    manage_py, warnings = locate_manage_py(root)
    base_dir = manage_py.parent
    choice_of_settings, manage_warnings = _settings_choice(root, manage_py, settings_module)
    settings_module = choice_of_settings.module
    warnings += manage_warnings
    package = settings_module.split(".")[0]
    package_dir = base_dir / package
    if "." not in settings_module or not (package_dir / "__init__.py").is_file():
        raise DiscoveryError(
            f"The settings module {settings_module!r} is not inside a project package under {base_dir}. "
            "Celery's app module lives in that package: move the settings into one, as startproject does "
            "(mysite/settings.py with DJANGO_SETTINGS_MODULE='mysite.settings')."
        )
    settings = map_settings(_settings_file(base_dir, settings_module), import_root=base_dir)
    _check_inside_project(root, settings)
    warnings += _entry_point_mismatches(root, package_dir, settings_module)
    warnings += _settings_warnings(root, settings)
    choice = find_interpreter(root, python, base_dir)
    if choice.last_resort:
        warnings.append(f"Interpreter: {choice.reason}.")
    env_files = [str(Path(f).expanduser().resolve()) for f in env_files or []]
    for file in env_files:
        if not Path(file).is_file():
            what = "a folder, not a file" if Path(file).is_dir() else "no such file"
            raise DiscoveryError(f"--env-file {file}: {what}. Pass a dotenv file (KEY=value lines).")
    report = run_probe(choice, root, base_dir, settings_module, env_files)
    existing = _existing_celery(root, base_dir, package_dir, report)
    warnings += _celery_warnings(root, existing)
    styles = dependency_styles(root, base_dir)
    facts = ProjectFacts(
        root=str(root),
        manage_py=relative_to_project(root, manage_py),
        base_dir=relative_to_project(root, base_dir),
        settings_module=settings_module,
        settings_source=choice_of_settings.source,
        env_files=env_files,
        settings_files=[relative_to_project(root, f) for f in settings.files],
        installed_apps_file=relative_to_project(
            root, settings.installed_apps.target_file if settings.installed_apps else settings.module_file
        ),
        celery_settings_file=relative_to_project(root, settings.celery_settings_file),
        project_package=package,
        project_package_dir=relative_to_project(root, package_dir),
        interpreter=str(choice.path),
        interpreter_reason=choice.reason,
        django_version=report.django_version,
        database_engine=report.database_engine or "",
        database_name=_database_name(report, base_dir),
        time_zone=report.time_zone or "UTC",
        use_tz=report.use_tz,
        installed_apps=report.installed_apps,
        apps=_local_apps(root, report),
        dependency_files=list(styles),
        dependency_styles=styles,
        packages=InstalledPackages.model_validate(report.versions),
        existing=existing,
        installed_apps_layout=settings.installed_apps.describe(root) if settings.installed_apps else "",
        warnings=warnings,
    )
    # read from the files the facts name, so found only once they exist; an interactive run asks about them
    chain = project_chain(facts, disk_reader(root))
    facts.existing.literal_urls = [
        f"{s.assignment.where} {s.assignment.name}" for s in literal_urls_in(chain)
    ]
    facts.existing.url_passwords = [f"{a.where} {a.name}" for a in password_assignments_in(chain)]
    facts.existing.eager_settings = [f"{a.where} {a.name}" for a in eager_assignments_in(chain)]
    return facts


def settings_choice(root: Path, explicit: str | None = None) -> SettingsChoice:
    """The settings module discovery would use for the project at `root` (raises SettingsModuleUnknown,
    with the candidates, when nothing names one: the CLI asks the user to pick in interactive runs)."""
    root = Path(root).expanduser().resolve()
    manage_py, _ = locate_manage_py(root)
    return _settings_choice(root, manage_py, explicit)[0]


def locate_manage_py(root: Path) -> tuple[Path, list[str]]:
    """manage.py at the root, else the shallowest Django manage.py below it; warnings name the ones ignored."""
    direct = root / "manage.py"
    if direct.is_file():
        return resolve_in_project(root, direct), []
    found = [
        path
        for path in walk_files(root, "manage.py", max_depth=MANAGE_PY_DEPTH)
        if path.name == "manage.py" and "django" in path.read_text(encoding="utf-8", errors="replace").lower()
    ]
    if not found:
        raise DiscoveryError(
            f"No manage.py under {root} (searched {MANAGE_PY_DEPTH} folder levels down): this does not look "
            "like a Django project. Run django-integrator from your project's folder or pass its path."
        )
    shallowest = min(len(p.relative_to(root).parts) for p in found)
    chosen = [p for p in found if len(p.relative_to(root).parts) == shallowest]
    if len(chosen) > 1:
        listed = ", ".join(relative_to_project(root, p) for p in chosen)
        raise DiscoveryError(
            f"Several Django projects under {root}: {listed}. Pass the folder of the one you mean as the "
            f"project path (e.g. {chosen[0].parent})."
        )
    ignored = [relative_to_project(root, p) for p in found if p not in chosen]
    warnings = [f"Ignored deeper manage.py files: {', '.join(ignored)}."] if ignored else []
    return chosen[0], warnings


def settings_module_in(tree: ast.Module) -> tuple[str | None, bool]:
    """The DJANGO_SETTINGS_MODULE a module sets (setdefault or assignment), and whether it is only the
    default of an `os.environ.get(...)`/`os.getenv(...)`; (None, False) when it sets none literally."""
    for node in ast.walk(tree):
        value = None
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "setdefault"
            and len(node.args) >= 2
            and _is_constant(node.args[0], SETTINGS_VARIABLE)
        ):
            value = node.args[1]
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Subscript) and _is_constant(t.slice, SETTINGS_VARIABLE) for t in node.targets
        ):
            value = node.value
        if value is None:
            continue
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value, False
        if isinstance(value, ast.Call) and len(value.args) >= 2 and isinstance(value.args[1], ast.Constant):
            return str(value.args[1].value), True
    return None, False


def _is_constant(node: ast.expr, text: str) -> bool:
    return isinstance(node, ast.Constant) and node.value == text


def _read_tree(file: Path) -> ast.Module:
    source = file.read_text(encoding="utf-8", errors="replace")
    try:
        return ast.parse(source, filename=str(file))
    except SyntaxError as exc:
        raise syntax_error(file, source, exc.lineno or 1) from exc


def _settings_choice(root: Path, manage_py: Path, explicit: str | None) -> tuple[SettingsChoice, list[str]]:
    """The settings module: --settings, else manage.py's default, else the environment, `.env`, pytest's
    configuration (see settings_source); a clear error listing candidates when nothing names one."""
    rel = relative_to_project(root, manage_py)
    if explicit:
        return SettingsChoice(module=explicit, source="--settings"), []
    module, from_env = settings_module_in(_read_tree(manage_py))
    if module is not None and from_env:
        return SettingsChoice(module=module, source=rel), [
            f"{rel} takes {SETTINGS_VARIABLE} from another environment variable; discovery used its default "
            f"{module!r}. Pass --settings to choose another."
        ]
    if module is not None:
        return SettingsChoice(module=module, source=rel), []
    if from_environment():
        return SettingsChoice(module=str(from_environment()), source=f"${SETTINGS_VARIABLE}"), []
    folders = list(dict.fromkeys([manage_py.parent, root]))
    for found in (from_env_file(folders), from_pytest_config(folders)):
        if found is not None:
            value, file = found
            source = relative_to_project(root, file)
            return SettingsChoice(module=value, source=source), [
                f"{rel} sets no {SETTINGS_VARIABLE}; used {value!r} from {source}. Pass --settings to "
                "choose another."
            ]
    raise unknown_settings_error(rel, manage_py.parent)


def _settings_file(base_dir: Path, settings_module: str) -> Path:
    file = settings_file_for(base_dir, settings_module)
    if file is None:
        dotted = settings_module.replace(".", "/")
        raise DiscoveryError(
            f"The settings module {settings_module!r} was named, but neither {dotted}.py nor "
            f"{dotted}/__init__.py exists under {base_dir}. Name an existing settings module (--settings, "
            "or the setdefault line in manage.py)."
        )
    return file


def _check_inside_project(root: Path, settings: SettingsMap) -> None:
    """Settings are edited later, so a settings file outside the project (via a symlink) stops discovery."""
    for file in settings.files:
        try:
            resolve_in_project(root, file)
        except PathEscapeError as exc:
            raise DiscoveryError(
                f"A settings file lies outside the project: {exc} Run django-integrator on the folder that "
                "holds it."
            ) from exc


def _entry_point_mismatches(root: Path, package_dir: Path, settings_module: str) -> list[str]:
    warnings = []
    for name in ("wsgi.py", "asgi.py"):
        file = package_dir / name
        if not file.is_file():
            continue
        module, _ = settings_module_in(_read_tree(file))
        if module is not None and module != settings_module:
            warnings.append(
                f"{relative_to_project(root, file)} sets {SETTINGS_VARIABLE} to {module!r} while manage.py uses "
                f"{settings_module!r}; celery.py follows manage.py. Check that is intended (servers often "
                "run production settings through wsgi.py)."
            )
    return warnings


def _settings_warnings(root: Path, settings: SettingsMap) -> list[str]:
    warnings = [
        f"Star import not found in the project (not followed): {item}."
        for item in settings.unresolved_imports
    ]
    if settings.installed_apps is None:
        warnings.append(
            f"No file among {', '.join(relative_to_project(root, f) for f in settings.files)} assigns "
            "INSTALLED_APPS statically; new apps will be added in the settings module itself."
        )
    return warnings


def _is_project_code(root: Path, path: Path) -> bool:
    """Inside the root and not inside a virtualenv, site-packages or hidden folder kept there."""
    try:
        parts = path.resolve().relative_to(root).parts
    except ValueError:
        return False
    return not any(is_skipped_dir(root.joinpath(*parts[: i + 1])) for i in range(len(parts)))


def _local_apps(root: Path, report: ProbeReport) -> list[AppInfo]:
    apps = []
    for app in report.apps:
        path = Path(app.path)
        if not _is_project_code(root, path):
            continue
        has_tasks, names = task_names(path)
        apps.append(
            AppInfo(
                label=app.label,
                module=app.name,
                listed_as=app.listed_as,
                path=relative_to_project(root, path),
                models=app.models,
                has_tasks_module=has_tasks,
                task_names=names,
            )
        )
    return apps


def _database_name(report: ProbeReport, base_dir: Path) -> str | None:
    name = report.database_name
    if name and report.database_engine and "sqlite" in report.database_engine and name != ":memory:":
        return str((base_dir / name).resolve())  # a relative NAME is relative to where manage.py runs
    return name


def _existing_celery(root: Path, base_dir: Path, package_dir: Path, report: ProbeReport) -> ExistingCelery:
    app = find_celery_app(base_dir, package_dir)
    module = dotted_module(base_dir, app[0]) if app else None
    sites = dispatch_sites(root)
    return ExistingCelery(
        celery_module=relative_to_project(root, app[0]) if app else None,
        app_module=module,
        app_variable=app[1] if app else None,
        init_loads_app=init_loads_app(app[0].parent, module.rpartition(".")[0], app[0]) if app else False,
        celery_settings={
            name: _URL_PASSWORD.sub(r"\1***\3", value)
            for name, value in report.celery_settings.items()
            if name.startswith("CELERY_")
        },
        old_style_settings=sorted(name for name in report.celery_settings if is_old_style(name)),
        dispatch_sites=[site.location for site in sites],
        dispatch_details=sites,
    )


def _celery_warnings(root: Path, existing: ExistingCelery) -> list[str]:
    warnings = [
        f"{name} is a deprecated setting name: Celery 5 still reads it when {OLD_TO_NAMESPACED[name]} is "
        f"not set, Celery 6 will not. Rename it to {OLD_TO_NAMESPACED[name]} (with consent: --rename-settings)."
        for name in existing.old_style_settings
    ]
    if existing.celery_module and not existing.init_loads_app:
        module = Path(existing.celery_module)
        init = (module.parent / "__init__.py").as_posix()
        variable = existing.app_variable or "app"
        warnings.append(
            f"{existing.celery_module} exists but {init} does not import its app, so @shared_task tasks bind "
            f"to a default app in web processes; import it there (from .{module.stem} import {variable} as "
            "celery_app)."
        )
    return warnings
