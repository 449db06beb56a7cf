"""Run the discovery probe in the project's interpreter and turn its failures into fixable messages.

Discovery's one subprocess: `probes/inspect_project.py` loads the settings with `django.setup()` and reports
what Django sees (during a run, the project session's first answer: the same report from a process that
stays up for the run's other questions). When it cannot (no Django in the interpreter, a package the
settings import is missing, an environment variable is unset), the user gets a DiscoveryError quoting the
exception's last line and saying exactly what to do, instead of a traceback.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from pydantic import BaseModel, Field

from tools.django_celery.answer_memo import answer_key, remembered
from tools.django_celery.discovery_error import DiscoveryError
from tools.django_celery.interpreter import InterpreterChoice
from tools.django_celery.project_env import project_process_env, result_payload
from tools.django_celery.project_session import discovery_report
from tools.lifetime import die_with_parent

PROBE_SCRIPT = Path(__file__).resolve().parent / "probes" / "inspect_project.py"
PROBE_TIMEOUT = 120.0
# Import names whose distribution is called something else: the name to `pip install`.
_DISTRIBUTION_OF = {
    "environ": "django-environ",
    "decouple": "python-decouple",
    "dotenv": "python-dotenv",
    "yaml": "PyYAML",
    "psycopg2": "psycopg2-binary",
    "MySQLdb": "mysqlclient",
    "dj_database_url": "dj-database-url",
    "sentry_sdk": "sentry-sdk",
}
_ENV_GET = re.compile(r"""(?:environ\.get|getenv|environ\[)\(?\s*["'](\w+)["']""")
_ENV_VAR_PATTERNS = (
    re.compile(r"Set the (\w+) environment variable"),  # django-environ
    re.compile(r"^(\w+) not found\. Declare it as envvar"),  # python-decouple
)


class ProbeApp(BaseModel):
    listed_as: str
    label: str
    name: str
    path: str
    models: list[str] = Field(default_factory=list)


class ProbeReport(BaseModel):
    """What Django sees once the settings are loaded (the probe's JSON on success)."""

    django_version: str
    installed_apps: list[str]
    apps: list[ProbeApp]
    database_engine: str | None
    database_name: str | None
    time_zone: str | None
    use_tz: bool
    celery_settings: dict[str, str]  # every CELERY*/BROKER_* setting -> repr of its value
    versions: dict[str, str | None]


def run_probe(
    choice: InterpreterChoice,
    root: Path,
    base_dir: Path,
    settings_module: str,
    env_files: list[str] | None = None,
) -> ProbeReport:
    """Load the settings in the project's interpreter, from the folder holding manage.py (asked again only
    when the project's files, the interpreter's packages or the environment changed since the last time)."""
    env = project_process_env(choice.path, base_dir, settings_module, env_files=env_files)
    key, tree = answer_key(
        "discovery probe", str(choice.path), root, env, env_files or [], str(base_dir), settings_module
    )
    return remembered(
        key, tree, root, lambda: _probe(choice, root, base_dir, settings_module, env, env_files or [])
    )


def _probe(
    choice: InterpreterChoice,
    root: Path,
    base_dir: Path,
    settings_module: str,
    env: dict[str, str],
    env_files: list[str],
) -> ProbeReport:
    """The project session's report when one may live (a run), else a one-off probe's."""
    report = discovery_report(str(choice.path), root, base_dir, settings_module, env, env_files)
    payload = report if report is not None else _one_off_probe(choice, base_dir, settings_module, env)
    if not payload.get("ok"):
        raise DiscoveryError(_failure_message(payload, choice, settings_module, base_dir))
    return ProbeReport.model_validate(payload)


def _one_off_probe(
    choice: InterpreterChoice, base_dir: Path, settings_module: str, env: dict[str, str]
) -> dict:
    command = [str(choice.path), "-B", str(PROBE_SCRIPT)]
    try:
        done = subprocess.run(
            command,
            cwd=base_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,  # also when asked by a prefetch the run no longer waits for
        )
    except subprocess.TimeoutExpired as exc:
        raise DiscoveryError(
            f"Loading the settings {settings_module} with {choice.path} did not finish in {PROBE_TIMEOUT:.0f} s. "
            "Check that importing the settings does not wait for a network service, then run again."
        ) from exc
    except OSError as exc:
        raise DiscoveryError(
            f"Cannot run the interpreter {choice.path} ({choice.reason}): {exc}. "
            "Pass --python with the interpreter your project runs with."
        ) from exc
    payload = result_payload(done.stdout)
    if payload is None:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise DiscoveryError(
            f"The interpreter {choice.path} ({choice.reason}) could not run the discovery probe: {tail}. "
            "Pass --python with the Python 3 interpreter your project runs with."
        )
    return payload


def _failure_message(payload: dict, choice: InterpreterChoice, settings_module: str, base_dir: Path) -> str:
    python, last_line = choice.path, payload.get("last_line") or payload.get("type", "error")
    if payload.get("stage") == "import_django":
        return (
            f"The interpreter {python} ({choice.reason}) cannot import Django ({last_line}). "
            f"Pass --python with the interpreter your project runs with, or install Django into this one "
            f"({python} -m pip install django)."
        )
    frame = payload.get("project_frame")
    at = f" (raised at {frame})" if frame else ""
    loading = f"Loading the settings {settings_module} with {python} failed: {last_line}{at}."
    missing = payload.get("missing_module")
    if missing and not _is_project_module(missing, base_dir):
        top = missing.split(".")[0]
        distribution = _DISTRIBUTION_OF.get(top, top)
        return (
            f"{loading} The package providing `{top}` is not installed in that interpreter ({choice.reason}). "
            f"Install the project's dependencies into it (e.g. {python} -m pip install {distribution}, or "
            "-r requirements.txt), or pass --python with the interpreter that has them. If it is meant to be "
            "one of your own modules, fix its name in the settings instead."
        )
    variable = _missing_env_var(payload)
    if variable:
        samples = env_samples(base_dir, base_dir.parent)
        offer = f" — e.g. --env-file {samples[0]}, which the project ships" if samples else ""
        return (
            f"{loading} The settings need the environment variable {variable}. Set it (export {variable}=..., "
            f"add it to the .env file the settings read, or pass --env-file FILE{offer}; a placeholder value "
            "is enough for discovery) and run again."
        )
    return f"{loading} Fix the settings so that `{python} manage.py check` runs, then run again."


def _is_project_module(module: str, base_dir: Path) -> bool:
    top = module.split(".")[0]
    return (base_dir / top).is_dir() or (base_dir / f"{top}.py").is_file()


def _missing_env_var(payload: dict) -> str | None:
    """The variable named by os.environ[...] (a KeyError raised in the os module), django-environ or decouple."""
    message = payload.get("message") or ""
    raised_in = Path(payload.get("raised_in") or "").name
    if payload.get("type") == "KeyError" and raised_in in ("os.py", "<frozen os>"):
        return message.strip("'\"")
    for pattern in _ENV_VAR_PATTERNS:
        found = pattern.search(message)
        if found:
            return found.group(1)
    # `os.environ.get("DJANGO_ALLOWED_HOSTS").split(" ")` with the variable unset: None has no .split
    if "NoneType" in message and (found := _ENV_GET.search(payload.get("raised_line") or "")):
        return found.group(1)
    return None


def env_samples(base_dir: Path, root: Path) -> list[str]:
    """Dotenv files a project ships as examples (.env.dev, .env.example, ...), to suggest --env-file."""
    found = []
    for folder in dict.fromkeys([base_dir, root]):
        for file in sorted(folder.glob("*env*")):
            name = file.name
            if file.is_file() and name != ".env" and (name.startswith(".env") or name.startswith("env.")):
                found.append(str(file))
    return found
