"""Broker/backend URLs written in the project's own settings: reported, or read from the environment with consent.

Real projects ship a development default such as `CELERY_BROKER_URL = "redis://localhost:6379/0"`.
That is the user's code, so, as with every other change to it, it is reported with file:line and left
alone unless the user agrees (`--env-urls`, or a yes in an interactive run). With consent the value
becomes a read of the environment in the file's own style, its current expression kept as the default
(`os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0")`, `env("CELERY_BROKER_URL",
default=...)`, `config(...)`), so nothing changes until the variable is set. A URL holding a password is not
this codemod's business: the password must leave the repository, which is `--fix-url-passwords`' job.
"""

from __future__ import annotations

import libcst as cst

from tools.django_celery.codemods.cst_tools import ensure_import_os
from tools.django_celery.codemods.settings_chain import SettingsChain, project_chain
from tools.django_celery.codemods.url_passwords import has_url_password
from tools.django_celery.codemods.url_sources import UrlSource, literal_url_sources
from tools.django_celery.codemods.workspace import ProjectEdits
from tools.django_celery.facts import ProjectFacts

CONSENT_FLAG = "--env-urls"


def literal_urls_in(chain: SettingsChain) -> list[UrlSource]:
    """The URL settings written as literals (without a password) in the settings of `chain`."""
    return [s for s in literal_url_sources(chain) if not has_url_password(s.literal or "")]


def literal_urls(facts: ProjectFacts, edits: ProjectEdits) -> list[UrlSource]:
    return literal_urls_in(project_chain(facts, edits.read))


def read_urls_from_environment(edits: ProjectEdits, facts: ProjectFacts) -> None:
    """Wrap each literal in the file's environment reader, one file edit at a time (consented)."""
    done: set[str] = set()
    while pending := [s for s in literal_urls(facts, edits) if s.assignment.where not in done]:
        source = pending[0]
        assignment = source.assignment
        done.add(assignment.where)
        assert assignment.value is not None
        chain = project_chain(facts, edits.read)
        reader = chain.env_reader_in(assignment.file.rel)
        new_value = cst.parse_expression(reader.call_code(source.name, assignment.code))
        module = assignment.file.module.deep_replace(assignment.value, new_value)
        if reader.kind == "os":
            module = ensure_import_os(module)  # type: ignore[arg-type]
        edits.write(assignment.file.rel, module.code, f"{assignment.name}: read from {source.name}")
        edits.warn(
            f"{assignment.where}: {assignment.name} is now read from the environment variable {source.name}, "
            f"its current value ({assignment.code}) kept as the default."
        )


def report_literal_urls(edits: ProjectEdits, facts: ProjectFacts) -> None:
    for source in literal_urls(facts, edits):
        edits.warn(
            f"{source.assignment.where}: {source.assignment.name} = {source.assignment.code} is written in the "
            f"code, not read from the environment; not changed: reading it from {source.name} (with this value "
            f"as the default) needs consent ({CONSENT_FLAG})."
        )
