"""Discovery probe, run in the user's project interpreter: load the settings the way Django does, report them.

The agent never imports the user's code, so discovery runs this file as `python inspect_project.py` with the
folder holding manage.py as the working directory, DJANGO_SETTINGS_MODULE set and PYTHONDONTWRITEBYTECODE=1.
It prints exactly one line `DJINT_RESULT <json>` (settings may print their own noise around it): either
`{"ok": true, ...}` with what Django sees, or `{"ok": false, ...}` with the stage that failed and the
exception, so the agent can say how to fix it.

It must not write into the project: bytecode is off, and Django's logging setup is skipped because a
LOGGING config with file handlers would create log files when applied. Only the standard library and
Django are used, and the code stays compatible with old interpreters (no runtime `X | Y`, no match).
"""

from __future__ import annotations

import json
import os
import sys
import traceback

MARKER = "DJINT_RESULT "
DISTRIBUTIONS = (
    ("django", "Django"),
    ("celery", "celery"),
    ("django_celery_results", "django-celery-results"),
    ("django_celery_beat", "django-celery-beat"),
    ("redis", "redis"),
)
CELERY_PREFIXES = ("CELERY", "BROKER_")


def emit(payload: dict) -> None:
    sys.stdout.write(MARKER + json.dumps(payload, default=str) + "\n")
    sys.stdout.flush()


def failure(stage: str, exc: BaseException) -> dict:
    """What the agent needs to explain a failure: the exception, where it was raised, the traceback's tail."""
    frames = traceback.extract_tb(exc.__traceback__)
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return {
        "ok": False,
        "stage": stage,
        "type": type(exc).__name__,
        "message": str(exc),
        "last_line": "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1],
        "missing_module": getattr(exc, "name", None) if isinstance(exc, ImportError) else None,
        "raised_in": frames[-1].filename if frames else None,
        "raised_line": frames[-1].line if frames else None,
        "project_frame": _project_frame(frames),
        "traceback": "".join(lines)[-3000:],
    }


def _project_frame(frames: traceback.StackSummary) -> str | None:
    """`path:line` of the deepest frame in the project's own code (the line the user has to fix)."""
    here = os.getcwd() + os.sep
    own = [
        f
        for f in frames
        if not f.filename.startswith("<")  # <frozen os>, <string>: no file the user can fix
        and os.path.abspath(f.filename).startswith(here)
        and "site-packages" not in f.filename
    ]
    return f"{os.path.relpath(own[-1].filename)}:{own[-1].lineno}" if own else None


def installed_versions() -> dict:
    from importlib import metadata

    versions = {}
    for key, distribution in DISTRIBUTIONS:
        try:
            versions[key] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            versions[key] = None
    return versions


def describe_project() -> dict:
    import django
    from django.apps import apps
    from django.conf import settings

    database = settings.DATABASES.get("default", {})
    app_rows = []
    # apps.get_app_configs() follows INSTALLED_APPS order, so each entry pairs with its config
    # (no `strict=`: the probe also runs on interpreters older than 3.10).
    for listed_as, config in zip(settings.INSTALLED_APPS, apps.get_app_configs()):  # noqa: B905
        app_rows.append(
            {
                "listed_as": listed_as,
                "label": config.label,
                "name": config.name,
                "path": config.path,
                "models": [model.__name__ for model in config.get_models()],
            }
        )
    return {
        "ok": True,
        "django_version": django.get_version(),
        "installed_apps": list(settings.INSTALLED_APPS),
        "apps": app_rows,
        "database_engine": database.get("ENGINE"),
        "database_name": None if database.get("NAME") is None else str(database.get("NAME")),
        "time_zone": settings.TIME_ZONE,
        "use_tz": bool(settings.USE_TZ),
        "celery_settings": {
            name: repr(getattr(settings, name))
            for name in dir(settings)
            if name.isupper() and name.startswith(CELERY_PREFIXES)
        },
        "versions": installed_versions(),
    }


def main() -> None:
    sys.dont_write_bytecode = True
    sys.path[0] = os.getcwd()  # the folder holding manage.py, as `python manage.py` would have it
    try:
        import django
        import django.utils.log
    except ImportError as exc:
        emit(failure("import_django", exc))
        return
    django.utils.log.configure_logging = lambda *args, **kwargs: None
    try:
        django.setup()
        payload = describe_project()
    except BaseException as exc:  # anything the user's settings or apps raise is reported, not crashed on
        emit(failure("setup", exc))
        return
    emit(payload)


if __name__ == "__main__":
    main()
