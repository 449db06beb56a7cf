"""What discovery learns about a Django project, and the integration decisions made about it.

These are the shared vocabulary of the domain: discovery produces `ProjectFacts`, the analysis phase
produces `Decisions`, and the codemods, checks and live verification read both. They are plain
pydantic models so graph state can hold them as JSON (`model_dump(mode="json")`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

ResultBackend = Literal["django-db", "redis", "django-cache", "none"]
DispatchStrategy = Literal["on_commit", "immediate", "signals"]
DecisionSource = Literal["flag", "asked", "default", "existing"]
DispatchContext = Literal["atomic", "save", "receiver", "on_commit"]


class AppInfo(BaseModel):
    """One Django app that lives inside the project (third-party apps are not listed here)."""

    label: str  # app label, e.g. "polls" or "users"
    module: str  # dotted module of the app package, e.g. "polls" or "apps.users"
    listed_as: str  # the INSTALLED_APPS entry, e.g. "polls" or "apps.users.apps.UsersConfig"
    path: str  # project-relative folder of the app package
    models: list[str] = Field(default_factory=list)  # model class names defined by the app
    has_tasks_module: bool = False
    task_names: list[str] = Field(default_factory=list)  # functions decorated as tasks in tasks.py


class DispatchSite(BaseModel):
    """A `.delay(` / `.apply_async(` call in the project's code and what surrounds it."""

    location: str  # "path:line", project-relative
    call: str  # the called expression, e.g. "send_welcome_email.delay"
    # atomic: inside `transaction.atomic()` (block or decorator); save: inside a model's save();
    # receiver: inside a signal receiver; on_commit: already deferred by `transaction.on_commit(...)`
    contexts: list[DispatchContext] = Field(default_factory=list)


class ExistingCelery(BaseModel):
    """What of a Celery integration the project already has (all empty on a fresh project)."""

    # The module that creates the project's Celery app, wherever it is: <pkg>/celery.py, cookiecutter's
    # config/celery_app.py, or a module of an app (styleguide_example/tasks/celery.py).
    celery_module: str | None = None  # its project-relative path
    app_module: str | None = None  # its dotted import path from the folder holding manage.py
    app_variable: str | None = None  # name the Celery app is bound to there, usually "app"
    init_loads_app: bool = False  # the `__init__.py` of the module's package imports the app
    celery_settings: dict[str, str] = Field(default_factory=dict)  # CELERY_* name -> source text
    old_style_settings: list[str] = Field(default_factory=list)  # e.g. CELERY_ALWAYS_EAGER, BROKER_URL
    dispatch_sites: list[str] = Field(default_factory=list)  # "path:line" of .delay(/.apply_async( calls
    dispatch_details: list[DispatchSite] = Field(default_factory=list)  # the same sites, with their contexts
    # broker/backend URLs written in the settings, not read from the environment: "path:line NAME"
    literal_urls: list[str] = Field(default_factory=list)
    # CELERY_/BROKER_ settings whose URL holds a password (a literal or a default): "path:line NAME"
    url_passwords: list[str] = Field(default_factory=list)
    # a literal CELERY_TASK_ALWAYS_EAGER (or CELERY_ALWAYS_EAGER) = True in the settings: "path:line NAME"
    eager_settings: list[str] = Field(default_factory=list)


class InstalledPackages(BaseModel):
    """Versions importable by the project's own interpreter (None = not installed)."""

    django: str | None = None
    celery: str | None = None
    django_celery_results: str | None = None
    django_celery_beat: str | None = None
    redis: str | None = None


class ProjectFacts(BaseModel):
    """Everything later phases need to know about the project, all paths project-relative."""

    root: str  # absolute path of the project root (the sandbox the agent works in)
    manage_py: str  # e.g. "manage.py" or "src/manage.py"
    base_dir: str  # folder holding manage.py, "." when it is the root; put on sys.path to import apps
    settings_module: str  # DJANGO_SETTINGS_MODULE as manage.py sets it, e.g. "config.settings.dev"
    settings_source: str = "manage.py"  # where the settings module came from (manage.py, --settings, .env…)
    env_files: list[str] = Field(
        default_factory=list
    )  # --env-file paths; values are read only by subprocesses
    settings_files: list[str]  # files that make up the settings, the module first, then what it imports
    installed_apps_file: str  # the file whose INSTALLED_APPS (or its parts) holds the app list
    celery_settings_file: str  # where CELERY_* settings belong (base settings shared by every env)
    project_package: str  # dotted package that holds settings/wsgi, e.g. "mysite" or "config"
    project_package_dir: str  # project-relative folder of that package
    interpreter: str  # absolute path of the project's Python
    django_version: str
    database_engine: str  # e.g. "django.db.backends.sqlite3"
    database_name: str | None = None  # for SQLite, the absolute path of the database file
    time_zone: str = "UTC"
    use_tz: bool = True
    installed_apps: list[str] = Field(default_factory=list)  # as Django sees them after settings load
    apps: list[AppInfo] = Field(default_factory=list)  # local apps only
    dependency_files: list[str] = Field(default_factory=list)  # requirements*.txt, pyproject.toml, Pipfile
    packages: InstalledPackages = Field(default_factory=InstalledPackages)
    existing: ExistingCelery = Field(default_factory=ExistingCelery)
    interpreter_reason: str = ""  # why this interpreter was chosen (--python, project venv, last resort...)
    installed_apps_layout: str = ""  # how INSTALLED_APPS is built, see settings_map.InstalledAppsLayout
    dependency_styles: dict[str, str] = Field(default_factory=dict)  # file -> requirements/pep621/poetry/uv
    warnings: list[str] = Field(default_factory=list)  # odd but not fatal findings, each with what to do

    def app(self, label: str) -> AppInfo | None:
        return next((a for a in self.apps if a.label == label), None)

    @property
    def celery_app_module(self) -> str:
        """Dotted module of the Celery app: the one the project has, else `<pkg>.celery` (setup creates it)."""
        return self.existing.app_module or f"{self.project_package}.celery"

    @property
    def celery_target(self) -> str:
        """What `celery -A` takes: the package when the app module is its `celery` submodule (Celery looks
        there), else the module itself, as the project's own docs say (cookiecutter: `config.celery_app`)."""
        package, _, stem = self.celery_app_module.rpartition(".")
        return package if stem == "celery" and package else self.celery_app_module

    @property
    def celery_app_sources(self) -> set[str]:
        """Modules code imports the app from: its own module and the package whose `__init__` exports it."""
        module = self.celery_app_module
        return {module, module.rpartition(".")[0] or module}


class Decisions(BaseModel):
    """The seed's decision framework, settled: asked, given as flags, found in the project, or defaulted."""

    task_apps: list[str]  # labels of the apps that get a tasks.py
    result_backend: ResultBackend = "django-db"
    beat: bool = False
    dispatch: DispatchStrategy = "on_commit"
    broker_url: str | None = None  # None = the embedded broker for verification
    # Consents for changes to the user's own code (False = report only): rewriting unsafe dispatch sites to
    # wait for COMMIT, renaming deprecated setting names, and routing tasks to dedicated queues
    # ("queue" for the app of that label, or "queue:<app label or task name>"; [] = no routing).
    rewrite_dispatch: bool = False
    rename_settings: bool = False
    install_deps: bool = False  # consent to pip-install missing packages into the project's interpreter
    fix_url_passwords: bool = False  # consent to remove passwords from URLs in the project's Celery settings
    fix_eager: bool = (
        False  # consent to turn a literal eager-mode True off in the settings the project runs with
    )
    env_urls: bool = False  # consent to read literal broker/backend URLs from the environment (value kept)
    queues: list[str] = Field(default_factory=list)
    sources: dict[str, DecisionSource] = Field(default_factory=dict)  # decision name -> where it came from

    def override(self, name: str, value: object) -> None:
        """Apply an explicit argument; it becomes a "flag" decision only when it changes the value.

        A slash command that merely repeats a decision (the runtime passes the decided backend to
        /celery:add-backend) must not erase that the user answered it.
        """
        if getattr(self, name) != value:
            setattr(self, name, value)
            self.sources[name] = "flag"
