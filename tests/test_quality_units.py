"""Fast tests of the quality pieces that need no Django process: the dispatch rewrite's exact output, import
placement, what a generated test can create, line lengths, routing specs, and the consent questions."""

from __future__ import annotations

import sys
from pathlib import Path

import libcst as cst
import pytest

from agent.config import RunOptions
from agent.decisions import (
    apply_answer,
    default_answer,
    infer_topic,
    initial_decisions,
    question_applies,
    queue_specs,
)
from agent.definition import load_definition
from agent.evals.layout_wild import SHARED_FOLDER_MODELS
from agent.models.offline import OfflinePolicy
from agent.resources import DEFAULT_DEFINITION
from tools.base import ToolError
from tools.django_celery.codemods.code_style import (
    configured_line_length,
    import_line_length,
    mark_long_lines,
    ruff_line_length,
)
from tools.django_celery.codemods.dispatch_rewrite import rewrite_module
from tools.django_celery.codemods.docs import DocFacts, ensure_celery_doc
from tools.django_celery.codemods.imports import ensure_from_import
from tools.django_celery.codemods.model_fields import creation_arguments
from tools.django_celery.codemods.routing import Route, plan_routes
from tools.django_celery.codemods.task_tests import render_task_tests
from tools.django_celery.codemods.workspace import ProjectEdits
from tools.django_celery.facts import AppInfo, Decisions, DispatchSite, InstalledPackages, ProjectFacts

VIEW = '''"""Views."""

import logging

from django.db import transaction

from accounts import tasks as account_tasks

from .tasks import audit, send_welcome_email


def signup(request):
    with transaction.atomic():
        send_welcome_email.delay(request.user.pk)
        audit.apply_async(args=(1,), countdown=10)
        result = send_welcome_email.delay(2)
        account_tasks.send_welcome_email.delay(3)
    send_welcome_email.delay(4)  # no transaction here: left alone
    return result


@transaction.atomic(using="replica")
def replicate(pk):
    send_welcome_email.delay(pk)
'''


def facts(tmp_path: Path, **changes: object) -> ProjectFacts:
    values: dict[str, object] = {
        "root": str(tmp_path),
        "manage_py": "manage.py",
        "base_dir": ".",
        "settings_module": "mysite.settings",
        "settings_files": ["mysite/settings.py"],
        "installed_apps_file": "mysite/settings.py",
        "celery_settings_file": "mysite/settings.py",
        "project_package": "mysite",
        "project_package_dir": "mysite",
        "interpreter": sys.executable,
        "django_version": "5.2.19",
        "database_engine": "django.db.backends.sqlite3",
        "apps": [AppInfo(label="accounts", module="accounts", listed_as="accounts", path="accounts")],
        "packages": InstalledPackages(celery="5.7.0"),
    }
    return ProjectFacts(**{**values, **changes})


def test_dispatch_rewrite_defers_what_runs_in_a_transaction_and_nothing_else(tmp_path: Path) -> None:
    tasks = {"accounts.tasks.send_welcome_email": True, "accounts.tasks.audit": False}  # audit has base=
    code, outcomes = rewrite_module("accounts/views.py", VIEW, facts(tmp_path), tasks, supported=True)
    expected = (
        VIEW.replace("import logging\n", "import logging\nfrom functools import partial\n")
        .replace(
            "send_welcome_email.delay(request.user.pk)", "send_welcome_email.delay_on_commit(request.user.pk)"
        )
        .replace(
            "audit.apply_async(args=(1,), countdown=10)",
            "transaction.on_commit(partial(audit.apply_async, args=(1,), countdown=10))",
        )
        .replace(
            "account_tasks.send_welcome_email.delay(3)", "account_tasks.send_welcome_email.delay_on_commit(3)"
        )
        .replace(
            "    send_welcome_email.delay(pk)\n",
            '    transaction.on_commit(partial(send_welcome_email.delay, pk), using="replica")\n',
        )
    )
    assert code == expected
    lines = [o.line() for o in outcomes]
    assert (
        "accounts/views.py:16: send_welcome_email.delay(...) inside atomic left as is: its return value is used"
        in (lines[2])
    )
    assert [o.rewritten for o in outcomes] == [True, True, False, True, True]
    assert not any(":18:" in line for line in lines)  # outside any transaction: not a site


def test_without_delay_on_commit_every_site_uses_on_commit_and_imports_come_once(tmp_path: Path) -> None:
    old_celery = facts(tmp_path, packages=InstalledPackages(celery="5.3.6"))
    code, outcomes = rewrite_module("accounts/views.py", VIEW, old_celery, {}, supported=False)
    assert (
        code.count("from functools import partial") == 1
        and code.count("from django.db import transaction") == 1
    )
    assert "transaction.on_commit(partial(send_welcome_email.delay, request.user.pk))" in code
    assert "transaction.on_commit(partial(account_tasks.send_welcome_email.delay, 3))" in code
    assert sum(o.rewritten for o in outcomes) == 4
    again, more = rewrite_module("accounts/views.py", code, old_celery, {}, supported=False)
    assert again == code and more == [o for o in more if not o.rewritten]  # idempotent


def test_a_local_name_transaction_blocks_the_on_commit_form(tmp_path: Path) -> None:
    source = (
        "from django.db.transaction import atomic\n\nfrom .tasks import charge\n\n\n"
        "def pay(transaction):\n    with atomic():\n        charge.delay(transaction.pk)\n"
    )
    code, outcomes = rewrite_module("accounts/views.py", source, facts(tmp_path), {}, supported=True)
    assert code == source
    assert outcomes[0].detail == "`transaction` means something else in this module"


def test_long_rewritten_lines_are_wrapped_like_ruff_format(tmp_path: Path) -> None:
    source = (
        "from accounts import tasks\n\n\ndef f(request):\n    with transaction.atomic():\n"
        "        tasks.send_a_rather_long_welcome_email.delay(request.user.pk, request.user.email)\n"
    )
    code, _ = rewrite_module(
        "accounts/views.py", source, facts(tmp_path), {}, supported=False, line_length=88
    )
    assert (
        "        transaction.on_commit(\n"
        "            partial(tasks.send_a_rather_long_welcome_email.delay, request.user.pk, request.user.email)\n"
        "        )\n"
    ) in code


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "import os\n\nfrom django.db import models\n\nfrom .x import y\n",
            "import os\nfrom functools import partial\n\n"
            "from django.db import models, transaction\n\nfrom .x import y\n",
        ),
        (
            '"""Doc."""\n\nfrom .x import y\n\nZ = 1\n',
            '"""Doc."""\n\nfrom functools import partial\n\n'
            "from django.db import transaction\n\nfrom .x import y\n\nZ = 1\n",
        ),
        (
            "from django.db import (\n    models,\n    router,\n)\n",
            "from functools import partial\n\nfrom django.db import (\n    models,\n    router,\n    transaction,\n)\n",
        ),
    ],
)
def test_imports_land_where_isort_puts_them(source: str, expected: str) -> None:
    module = ensure_from_import(cst.parse_module(source), "functools", "partial", {"accounts"})
    module = ensure_from_import(module, "django.db", "transaction", {"accounts"})
    assert module.code == expected


def test_a_generated_test_creates_rows_only_when_it_knows_every_required_field() -> None:
    models = (
        "from django.db import models\n\n\nclass Tag(models.Model):\n    code = models.CharField(max_length=4)\n"
        "    size = models.PositiveIntegerField()\n    on = models.BooleanField()\n"
        "    at = models.DateTimeField(auto_now_add=True)\n    note = models.TextField(null=True)\n\n\n"
        "class Line(models.Model):\n    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)\n\n\n"
        "class Base(models.Model):\n    class Meta:\n        abstract = True\n"
    )
    assert creation_arguments(models, "Tag") == {"code": '"x"', "size": "1", "on": "True"}
    assert creation_arguments(models, "Line") is None  # a foreign key cannot be invented
    assert creation_arguments(models, "Base") is None


def test_the_projects_line_length_is_read_from_its_linter_configuration() -> None:
    files = {
        "pyproject.toml": "[tool.ruff]\nline-length = 100\n[tool.black]\nline-length = 99\n",
        "src/setup.cfg": "[flake8]\nmax-line-length = 79\n",
    }
    assert configured_line_length(files.get, ["."]) == 99
    assert configured_line_length(files.get, [".", "src"]) == 79
    assert configured_line_length({}.get, ["."]) is None
    marked = mark_long_lines('x = "' + "a" * 90 + '"\n"""\n' + "b" * 90 + '\n"""\n', 88)
    assert marked.splitlines()[0].endswith("  # noqa: E501") and not marked.splitlines()[2].endswith("E501")


def test_imports_are_wrapped_where_ruffs_isort_wraps_them_not_at_black_or_flake8s_length() -> None:
    black_only = {
        "pyproject.toml": "[tool.black]\nline-length = 119\n",
        "setup.cfg": "[flake8]\nmax-line-length = 119\n",
    }
    assert configured_line_length(black_only.get, ["."]) == 119
    assert ruff_line_length(black_only.get, ["."]) == 88  # ruff reads neither: its default
    assert import_line_length(black_only.get, ["."]) == 88
    ruff_too = {"pyproject.toml": "[tool.black]\nline-length = 119\n[tool.ruff]\nline-length = 119\n"}
    assert import_line_length(ruff_too.get, ["."]) == 119
    assert ruff_line_length({"src/ruff.toml": "line-length = 100\n"}.get, [".", "src"]) == 100
    assert import_line_length({"pyproject.toml": "[tool.ruff]\nline-length = 120\n"}.get, ["."]) == 120


def test_a_generated_test_makes_its_row_with_save_and_wraps_imports_at_the_import_length() -> None:
    # objects.create() passes force_insert=True to save(): a save() that saves twice inserts twice
    app = AppInfo(
        label="library",
        module="site.apps.library",
        listed_as="site.apps.library",
        path="site/apps/library",
        models=["SharedFolder"],
    )
    code = render_task_tests(app, "..", SHARED_FOLDER_MODELS, 119, 88)
    assert "objects.create" not in code
    assert '        shared_folder = SharedFolder(name="example")\n        shared_folder.save()\n' in code
    assert "from ..tasks import (\n    count_shared_folders,\n    process_shared_folder,\n" in code
    # the body keeps the project's 119: a line black would join is not split at 88
    assert (
        '        patch = mock.patch.object(process_shared_folder, "delay", wraps=process_shared_folder.delay)\n'
        in code
    )
    one_line = render_task_tests(app, "..", SHARED_FOLDER_MODELS, 119)
    assert (
        "from ..tasks import count_shared_folders, process_shared_folder, queue_process_shared_folder\n"
        in one_line
    )


def test_queue_specs_route_apps_or_tasks_and_refuse_what_routes_nothing(tmp_path: Path) -> None:
    project = facts(tmp_path, apps=[AppInfo(label="polls", module="polls", listed_as="polls", path="polls")])
    tasks = {"polls": ["polls.tasks.count_questions", "custom.name"]}
    assert plan_routes(["emails:polls"], project, tasks, "celery") == [
        Route("polls.tasks.*", "emails"),
        Route("custom.name", "emails"),  # a task whose explicit name the app glob misses
    ]
    assert plan_routes(["polls"], project, tasks, "celery") == [
        Route("polls.tasks.*", "polls"),
        Route("custom.name", "polls"),
    ]
    assert plan_routes(["slow:custom.name"], project, tasks, "celery") == [Route("custom.name", "slow")]
    with pytest.raises(ToolError, match="'emails' routes no task"):
        plan_routes(["emails"], project, tasks, "celery")
    with pytest.raises(ToolError, match="other than the default queue 'celery'"):
        plan_routes(["celery:polls"], project, tasks, "celery")
    assert queue_specs("No thanks") == [] and queue_specs("emails:polls, reports:blog") == [
        "emails:polls",
        "reports:blog",
    ]


def test_consents_default_to_no_and_answers_change_them(tmp_path: Path) -> None:
    project = facts(tmp_path)
    decisions = initial_decisions(project, RunOptions(project=str(tmp_path)))
    assert not decisions.rewrite_dispatch and decisions.sources["rewrite_dispatch"] == "default"
    assert default_answer("rewrite_dispatch", project, decisions) == "no"
    flagged = initial_decisions(
        project, RunOptions(project=str(tmp_path), rename_settings=True, queues=["q:accounts"])
    )
    assert (
        flagged.rename_settings
        and flagged.sources["rename_settings"] == "flag"
        and flagged.queues == ["q:accounts"]
    )
    question = "Rewrite those calls so the task is sent only after COMMIT (delay_on_commit or transaction.on_commit)?"
    assert infer_topic(question) == "rewrite_dispatch"
    assert (
        apply_answer("rewrite_dispatch", "yes, please", project, decisions, "asked")
        == "rewrite dispatch: yes"
    )
    assert decisions.rewrite_dispatch and decisions.sources["rewrite_dispatch"] == "asked"
    apply_answer("rename_settings", "no", project, decisions, "asked")
    assert not decisions.rename_settings


def test_url_password_and_eager_consents_map_to_their_flags(tmp_path: Path) -> None:
    """The topics url_passwords and eager_mode decide fix_url_passwords and fix_eager, the flags' fields."""
    project = facts(tmp_path)
    decisions = initial_decisions(project, RunOptions(project=str(tmp_path)))
    for topic, field in (("url_passwords", "fix_url_passwords"), ("eager_mode", "fix_eager")):
        assert decisions.sources[topic] == "default" and default_answer(topic, project, decisions) == "no"
        assert apply_answer(topic, "yes", project, decisions, "asked").endswith(": yes")
        assert getattr(decisions, field) and decisions.sources[topic] == "asked"
        apply_answer(topic, "no", project, decisions, "asked")
        assert not getattr(decisions, field)
    flagged = initial_decisions(
        project, RunOptions(project=str(tmp_path), fix_eager=True, fix_url_passwords=False)
    )
    assert flagged.fix_eager and default_answer("eager_mode", project, flagged) == "yes"
    assert flagged.sources["eager_mode"] == "flag" and flagged.sources["url_passwords"] == "flag"
    assert not flagged.fix_url_passwords
    definition = load_definition(DEFAULT_DEFINITION)
    texts = {q.key: q.text for q in definition.questions}
    assert infer_topic(texts["url_passwords"]) == "url_passwords"
    assert infer_topic(texts["eager_mode"]) == "eager_mode"
    assert all(infer_topic(text) == key for key, text in texts.items())  # no topic steals another's


def test_the_offline_policy_asks_conditional_questions_only_when_discovery_found_the_problem(
    tmp_path: Path,
) -> None:
    definition = load_definition(DEFAULT_DEFINITION)
    policy = OfflinePolicy(definition=definition)
    unsafe = DispatchSite(location="accounts/views.py:14", call="send.delay", contexts=["atomic"])
    deferred = DispatchSite(
        location="accounts/views.py:20", call="send.delay", contexts=["atomic", "on_commit"]
    )
    decisions = Decisions(task_apps=[], sources={"queues": "default"}).model_dump(mode="json")

    def asked(existing: dict) -> list[str]:
        run = {"facts": {"existing": existing}, "decisions": decisions}
        batches = policy._phase_work("analysis", run, decisions)
        return [call["args"]["topic"] for _, calls in batches for call in calls]

    assert asked({}) == ["queues"]
    assert asked({"dispatch_details": [deferred.model_dump()]}) == ["queues"]
    assert asked({"dispatch_details": [unsafe.model_dump()], "old_style_settings": ["BROKER_URL"]}) == [
        "queues",
        "rewrite_dispatch",
        "rename_settings",
    ]
    assert asked(
        {
            "url_passwords": ["mysite/settings.py:12 CELERY_BROKER_URL"],
            "eager_settings": ["mysite/settings.py:13 CELERY_TASK_ALWAYS_EAGER"],
        }
    ) == ["queues", "url_passwords", "eager_mode"]
    assert asked({"literal_urls": ["mysite/settings.py:12 CELERY_BROKER_URL"]}) == ["queues", "env_urls"]
    assert not question_applies("something_unknown", {"existing": {}})


def test_save_and_receiver_sites_are_deferred_too(tmp_path: Path) -> None:
    source = (
        "from django.db import models\nfrom django.db.models.signals import post_save\n"
        "from django.dispatch import receiver\n\nfrom .tasks import index\n\n\n"
        "class Page(models.Model):\n    def save(self, *args, **kwargs):\n"
        "        super().save(*args, **kwargs)\n        index.delay(self.pk)\n\n\n"
        "@receiver(post_save, sender=Page)\ndef reindex(sender, instance, **kwargs):\n    index.delay(instance.pk)\n"
    )
    tasks = {"accounts.tasks.index": True}
    code, outcomes = rewrite_module("accounts/models.py", source, facts(tmp_path), tasks, supported=True)
    assert code == source.replace("index.delay(", "index.delay_on_commit(")
    assert [o.context for o in outcomes] == ["save", "receiver"]


def test_docs_go_into_the_readme_when_there_is_one_and_never_twice(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# Shop\n\nRun it.\n")
    project = facts(tmp_path, base_dir="src", project_package_dir="src/mysite")
    decisions = Decisions(task_apps=["accounts"], beat=True)
    doc = DocFacts(
        backend="django-db",
        env={"CELERY_BROKER_URL": "redis://localhost:6379/0"},
        tasks={"src/accounts/tasks.py": ["count_accounts"]},
        tests=["src/accounts/test_tasks.py"],
        queues=["celery", "emails"],
    )
    edits = ProjectEdits(tmp_path)
    ensure_celery_doc(edits, project, decisions, doc)
    readme = edits.read("README.md") or ""
    assert readme.startswith("# Shop\n\nRun it.\n\n## Celery\n")
    for text in (
        "From the folder that holds `manage.py` (`src/`)",
        "celery -A mysite worker -l info -Q celery,emails",
        "celery -A mysite beat -l info -S django  # exactly one, ever",
        "| `CELERY_BROKER_URL` | `redis://localhost:6379/0` |",
        "the retired django-celery package",
        "`python manage.py test accounts`",
        "Run the worker as an unprivileged user",
        "workers x concurrency x pool size",
    ):
        assert text in readme, text
    assert not edits.exists("CELERY.md")
    ensure_celery_doc(edits, project, decisions, doc)
    assert edits.read("README.md") == readme  # a Celery section exists: kept
