"""Passwords inside broker/backend URLs in the project's own settings: reported, or removed with consent.

A default such as `env("CELERY_BROKER_URL", default="amqp://guest:guest@localhost//")` puts a
credential in the repository (celery-audit's CEL003, critical). With `--fix-url-passwords` the
credentials leave the URL: `amqp://localhost//` (kombu's own default user is guest/guest, so RabbitMQ's
stock account keeps working), any other password is removed with its user kept, and a bare literal is
also wrapped in the file's environment reader so the real URL can come from `.env`. The real URL is
never written anywhere; the warning says where it belongs.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import libcst as cst

from tools.django_celery.codemods.cst_tools import ensure_import_os
from tools.django_celery.codemods.secret_scan import URL_PASSWORD, is_placeholder
from tools.django_celery.codemods.settings_chain import Assignment, SettingsChain, project_chain
from tools.django_celery.codemods.workspace import ProjectEdits
from tools.django_celery.facts import ProjectFacts

RABBITMQ_DEFAULT = ("guest", "guest")


def has_url_password(text: str) -> bool:
    return any(not is_placeholder(m.group(1)) for m in URL_PASSWORD.finditer(text))


def without_password(url: str) -> str:
    """The URL with its password gone; RabbitMQ's guest:guest goes entirely (kombu defaults to it)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    if parts.username and (parts.username, parts.password) != RABBITMQ_DEFAULT:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit(parts._replace(netloc=netloc))


class _StripPasswords(cst.CSTTransformer):
    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.SimpleString:
        value = str(original.evaluated_value)
        if not has_url_password(value):
            return updated
        quote = updated.value[-1]
        return updated.with_changes(value=f"{quote}{without_password(value)}{quote}")


def password_assignments_in(chain: SettingsChain) -> list[Assignment]:
    """CELERY_/BROKER_ settings of `chain` whose code holds a URL with a password (literal or default)."""
    return [
        a
        for f in chain.files
        for a in f.assignments
        if a.name.startswith(("CELERY_", "BROKER_")) and has_url_password(a.code)
    ]


def password_assignments(facts: ProjectFacts, edits: ProjectEdits) -> list[Assignment]:
    return password_assignments_in(project_chain(facts, edits.read))


def strip_url_passwords(edits: ProjectEdits, facts: ProjectFacts) -> None:
    """Remove the passwords from the URLs of CELERY_/BROKER_ settings (consented: --fix-url-passwords)."""
    done: set[str] = set()
    while True:  # one at a time: each edit changes the file the next assignment is read from
        pending = [
            a for a in password_assignments(facts, edits) if a.where not in done and a.value is not None
        ]
        if not pending:
            return
        assignment = pending[0]
        done.add(assignment.where)
        assert assignment.value is not None
        chain = project_chain(facts, edits.read)
        new_value = assignment.value.visit(_StripPasswords())
        reads_env = chain.reads_environment(assignment.value)
        if not reads_env and isinstance(new_value, cst.SimpleString):
            reader = chain.env_reader()
            new_value = cst.parse_expression(reader.call(assignment.name, str(new_value.evaluated_value)))
        module = assignment.file.module.deep_replace(assignment.value, new_value)
        if "os.environ" in assignment.file.module.code_for_node(new_value):  # type: ignore[arg-type]
            module = ensure_import_os(module)  # type: ignore[arg-type]
        edits.write(assignment.file.rel, module.code, f"{assignment.name}: password removed from the URL")
        edits.warn(
            f"{assignment.where}: removed the password from {assignment.name}'s URL (it was in the "
            f"repository); put the real URL in .env as {assignment.name}=... — it was written nowhere."
        )


def report_url_passwords(edits: ProjectEdits, facts: ProjectFacts) -> None:
    for assignment in password_assignments(facts, edits):
        edits.warn(
            f"{assignment.where}: {assignment.name} has a password inside its URL; not changed: removing it "
            "needs consent (--fix-url-passwords)."
        )
