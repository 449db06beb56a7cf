"""What `.env.example` documents: the variables the project's settings really read for the broker and backend.

A `.env.example` line for a variable the settings never read is worse than none: the user copies it to
`.env`, sets the real broker there, and the project keeps using its default. So the variables come from
the settings themselves (after the setup's own edits), found with libcst: `CELERY_BROKER_URL` when the
block this tool writes reads it, `REDIS_URL` for cookiecutter-django's `CELERY_BROKER_URL = REDIS_URL`,
`REDIS_HOST` for a URL built from parts. When the value does not come from an environment variable at
all — the project's own configuration layer (pretalx's `config.get("celery", "broker")`), or a URL written
in the code — a comment says so and where to set it instead; no variable is invented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from tools.django_celery.codemods.env_urls import CONSENT_FLAG
from tools.django_celery.codemods.settings_block import DEFAULT_REDIS_RESULTS_URL, broker_default
from tools.django_celery.codemods.settings_chain import SettingsChain
from tools.django_celery.codemods.url_passwords import has_url_password
from tools.django_celery.codemods.url_sources import URL_SETTINGS, EnvRead, url_sources
from tools.django_celery.facts import Decisions, ResultBackend
from tools.secret_guard import mask_url_passwords

_SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY", re.IGNORECASE)


@dataclass
class EnvExample:
    values: dict[str, str] = field(default_factory=dict)  # variable -> placeholder value
    notes: list[str] = field(default_factory=list)  # comment lines: where a value comes from instead


def placeholder_url(url: str, project: str) -> str:
    """The URL with its password replaced by a placeholder, for .env.example."""
    parts = urlsplit(url)
    if not parts.password:
        return broker_default(Decisions(task_apps=[], broker_url=url))
    host = f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname or ""
    userinfo = f"{parts.username or ''}:{project}_dev_your_password_here"
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))


def _value(
    read: EnvRead, setting: str, decisions: Decisions, backend: ResultBackend, project: str
) -> str | None:
    """The placeholder for one variable; None when there is no safe example (a part with no default)."""
    if _SECRET_NAME.search(read.variable):
        return f"{project}_dev_your_{read.variable.lower()}_here"
    if not read.whole:
        return read.default if read.default and not has_url_password(read.default) else None
    if setting == "CELERY_BROKER_URL" and decisions.broker_url:
        return placeholder_url(decisions.broker_url, project)  # the broker the run was asked to use
    if read.default and "://" in read.default:
        return placeholder_url(read.default, project)
    if read.default:
        return read.default  # e.g. "django-db"
    if setting == "CELERY_BROKER_URL":
        return broker_default(decisions)
    if backend == "redis":
        return DEFAULT_REDIS_RESULTS_URL
    return backend if backend != "none" else None


def env_example_entries(
    chain: SettingsChain,
    decisions: Decisions,
    backend: ResultBackend,
    project: str,
    settings: tuple[str, ...] = URL_SETTINGS,
) -> EnvExample:
    """The lines `.env.example` needs for the URL `settings` (broker and backend) of `chain`."""
    found = EnvExample()
    for setting in settings:
        sources = url_sources(chain, setting)
        reads = [read for source in sources for read in source.reads]
        for read in reads:
            value = _value(read, setting, decisions, backend, project)
            if value is not None:
                found.values.setdefault(read.variable, value)
            elif read.variable not in found.values:
                found.notes.append(
                    f"{read.variable}=... (read for {setting} in {read.where.rpartition(':')[0]})"
                )
        if reads:
            continue
        computed = [s for s in sources if s.kind == "computed"]
        literal = [s for s in sources if s.is_literal_url]
        if computed:
            source = computed[-1].assignment
            found.notes.append(
                f"{setting} is not read from an environment variable: {source.file.rel} sets it from the "
                f"project's own configuration ({mask_url_passwords(source.code)}); configure the {_what(setting)} "
                "there."
            )
        elif literal:
            source = literal[-1].assignment
            found.notes.append(
                f"{setting} is written in {source.file.rel}, not read from the environment; {CONSENT_FLAG} makes "
                f"it read {setting}, the written value kept as the default."
            )
    return found


def _what(setting: str) -> str:
    return "broker" if setting == "CELERY_BROKER_URL" else "result backend"
