"""Where the broker and backend URLs come from (libcst), the --env-urls codemod in each reader style the
settings use, and what `.env.example` documents: small hand-written settings, exact output, idempotency."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_codemods import hand_facts, write
from tools.django_celery.codemods.env_example import env_example_entries
from tools.django_celery.codemods.env_files import ensure_env_example
from tools.django_celery.codemods.env_urls import read_urls_from_environment, report_literal_urls
from tools.django_celery.codemods.settings_chain import project_chain
from tools.django_celery.codemods.url_sources import url_sources
from tools.django_celery.codemods.workspace import ProjectEdits
from tools.django_celery.facts import Decisions

SETTINGS = "mysite/settings.py"
DECISIONS = Decisions(task_apps=[])


def sources(root: Path, text: str, name: str = "CELERY_BROKER_URL") -> list[tuple[str, list[str]]]:
    write(root, {SETTINGS: text})
    chain = project_chain(hand_facts(root), ProjectEdits(root).read)
    return [
        (s.kind, [f"{r.variable}={r.default}{'' if r.whole else ' (part)'}" for r in s.reads])
        for s in url_sources(chain, name)
    ]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (  # cookiecutter-django: the broker reads REDIS_URL, never CELERY_BROKER_URL
            'import environ\nenv = environ.Env()\nREDIS_URL = env("REDIS_URL", default="redis://r:6379/0")\n'
            "CELERY_BROKER_URL = REDIS_URL\n",
            [("environment", ["REDIS_URL=redis://r:6379/0"])],
        ),
        (
            "import os\nCELERY_BROKER_URL = f\"redis://{os.environ.get('REDIS_HOST', 'localhost')}:6379/0\"\n",
            [("environment", ["REDIS_HOST=localhost (part)"])],
        ),
        (
            'from decouple import config\nCELERY_BROKER_URL = config("BROKER", default="amqp://localhost//")\n',
            [("environment", ["BROKER=amqp://localhost//"])],
        ),
        ('import os\nCELERY_BROKER_URL = os.environ["BROKER"]\n', [("environment", ["BROKER=None"])]),
        ('HOST = "cache:6379"\nBROKER_URL = "redis://" + HOST\n', [("literal", [])]),  # a deprecated name too
        ('CELERY_BROKER_URL = config.get("celery", "broker")\n', [("computed", [])]),  # pretalx's layer
    ],
)
def test_url_sources_name_what_the_settings_really_read(
    tmp_path: Path, text: str, found: list[tuple[str, list[str]]]
) -> None:
    assert sources(tmp_path, text) == found


@pytest.mark.parametrize(
    ("files", "edited", "expected"),
    [
        (  # no reader in the file: os.environ.get, and `import os` added
            {SETTINGS: 'DEBUG = True\nCELERY_BROKER_URL = "redis://localhost:6379/0"\n'},
            SETTINGS,
            'import os\n\nDEBUG = True\nCELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", '
            '"redis://localhost:6379/0")\n',
        ),
        (  # django-environ, and the value kept as written (a name bound to a literal)
            {
                SETTINGS: 'import environ\n\nenv = environ.Env()\nREDIS = "redis://localhost:6379/0"\n'
                "CELERY_BROKER_URL = REDIS\n"
            },
            SETTINGS,
            'import environ\n\nenv = environ.Env()\nREDIS = "redis://localhost:6379/0"\n'
            'CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS)\n',
        ),
        (  # python-decouple's config, a deprecated name read from the variable .env.example documents
            {SETTINGS: 'from decouple import config\n\nBROKER_URL = "amqp://localhost//"\n'},
            SETTINGS,
            'from decouple import config\n\nBROKER_URL = config("CELERY_BROKER_URL", default="amqp://localhost//")\n',
        ),
        (  # local.py calls the env its star-import binds (cookiecutter-django)
            {
                "mysite/settings/__init__.py": "",
                "mysite/settings/base.py": "import environ\n\nenv = environ.Env()\n",
                "mysite/settings/local.py": 'from .base import *  # noqa\n\nCELERY_RESULT_BACKEND = "rpc://"\n',
            },
            "mysite/settings/local.py",
            'from .base import *  # noqa\n\nCELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default="rpc://")\n',
        ),
    ],
)
def test_literal_urls_are_read_from_the_environment_in_the_files_own_style(
    tmp_path: Path, files: dict[str, str], edited: str, expected: str
) -> None:
    write(tmp_path, files)
    settings = "mysite/settings/local.py" if edited != SETTINGS else SETTINGS
    facts = hand_facts(tmp_path, settings)
    edits = ProjectEdits(tmp_path)
    report_literal_urls(edits, facts)
    assert edits.read(edited) == files[edited]  # reporting changes nothing
    assert len(edits.warnings) == 1 and edits.warnings[0].startswith(f"{edited}:")
    assert "needs consent (--env-urls)" in edits.warnings[0]
    read_urls_from_environment(edits, facts)
    assert edits.read(edited) == expected
    again = ProjectEdits(tmp_path)
    write(tmp_path, {edited: expected})
    read_urls_from_environment(again, facts)
    assert again.read(edited) == expected and again.warnings == []  # nothing left to do


def test_a_url_with_a_password_is_left_to_fix_url_passwords(tmp_path: Path) -> None:
    text = 'CELERY_BROKER_URL = "amqp://shop:Xk29fjQ0zPq@rabbit//"\n'
    write(tmp_path, {SETTINGS: text})
    edits = ProjectEdits(tmp_path)
    read_urls_from_environment(edits, hand_facts(tmp_path))
    assert edits.read(SETTINGS) == text and edits.warnings == []


@pytest.mark.parametrize(
    ("text", "values", "note"),
    [
        (  # cookiecutter-django: REDIS_URL for both, with the project's own default
            'import environ\nenv = environ.Env()\nREDIS_URL = env("REDIS_URL", default="redis://r:6379/0")\n'
            "CELERY_BROKER_URL = REDIS_URL\nCELERY_RESULT_BACKEND = REDIS_URL\n",
            {"REDIS_URL": "redis://r:6379/0"},
            None,
        ),
        (  # the block /celery:setup writes
            'import os\nCELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0")\n'
            'CELERY_RESULT_BACKEND = "django-db"\n',
            {"CELERY_BROKER_URL": "redis://localhost:6379/0"},
            None,
        ),
        (  # a password in the default never reaches .env.example
            'import os\nCELERY_BROKER_URL = os.environ.get("AMQP_URL", "amqp://shop:Xk29fjQ0zPq@rabbit//")\n',
            {"AMQP_URL": "amqp://shop:mysite_dev_your_password_here@rabbit//"},
            None,
        ),
        (  # a URL built from parts: each part's variable, one without a default only named in a comment
            "import os\nCELERY_BROKER_URL = f\"redis://{os.environ.get('REDIS_HOST', 'localhost')}:"
            "{os.environ['REDIS_PORT']}/0\"\n",
            {"REDIS_HOST": "localhost"},
            "REDIS_PORT=... (read for CELERY_BROKER_URL in mysite/settings.py)",
        ),
        (  # pretalx's configuration layer: no variable invented
            'CELERY_BROKER_URL = config.get("celery", "broker")\n',
            {},
            "CELERY_BROKER_URL is not read from an environment variable: mysite/settings.py sets it from the "
            'project\'s own configuration (config.get("celery", "broker")); configure the broker there.',
        ),
        (
            'CELERY_BROKER_URL = "redis://localhost:6379/0"\n',
            {},
            "CELERY_BROKER_URL is written in mysite/settings.py, not read from the environment; --env-urls makes "
            "it read CELERY_BROKER_URL, the written value kept as the default.",
        ),
    ],
)
def test_env_example_documents_the_variables_the_settings_read(
    tmp_path: Path, text: str, values: dict[str, str], note: str | None
) -> None:
    write(tmp_path, {SETTINGS: text})
    chain = project_chain(hand_facts(tmp_path), ProjectEdits(tmp_path).read)
    found = env_example_entries(chain, DECISIONS, "redis", "mysite")
    assert found.values == values
    assert found.notes == ([note] if note else [])


def test_env_example_notes_are_wrapped_comments_added_once(tmp_path: Path) -> None:
    note = "CELERY_BROKER_URL is not read from an environment variable: " + "x " * 60
    edits = ProjectEdits(tmp_path)
    ensure_env_example(edits, {"A": "1"}, "Celery", [note])
    text = edits.read(".env.example") or ""
    assert text.startswith("# Celery\n# CELERY_BROKER_URL is not read") and text.endswith("A=1\n")
    assert all(len(line) <= 102 for line in text.splitlines())
    write(tmp_path, {".env.example": text})
    again = ProjectEdits(tmp_path)
    ensure_env_example(again, {"A": "1"}, "Celery", [note])
    assert again.read(".env.example") == text
    assert [r.status for r in again.reports()] == ["already correct"]
