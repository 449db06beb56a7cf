"""A hand-written project that already dispatches a task from inside a transaction, for the quality tests.

`shop` (startproject) with two apps: `accounts` (an Account model and a sign-up view that creates the row
and sends the welcome task inside `transaction.atomic()`, the race the seed warns about) and
`notifications` (the task, which re-reads the account and marks it welcomed). Celery is wired the
canonical way already; the project simply never deferred its dispatch. The database is SQLite, or a
PostgreSQL database given by name (`use_postgres`), where the race is real: SQLite's locking can hide it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from agent.demo import make_sample_project
from agent.evals.fixture_databases import HOST, PORT, USER
from tests.projects import run

ACCOUNT_MODEL = """from django.db import models


class Account(models.Model):
    email = models.EmailField(unique=True)
    welcomed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
"""

SIGNUP_VIEW = '''"""Sign-up: create the account, then send the welcome e-mail in the background."""

from django.db import transaction
from django.http import JsonResponse
from django.views.decorators.http import require_POST

from notifications.tasks import send_welcome_email

from .models import Account


@require_POST
def signup(request):
    with transaction.atomic():
        account = Account.objects.create(email=request.POST["email"])
        send_welcome_email.delay(account.pk)
    return JsonResponse({"id": account.pk}, status=201)
'''

WELCOME_TASKS = '''"""Notifications sent by the shop."""

from celery import shared_task
from celery.utils.log import get_task_logger

from accounts.models import Account

logger = get_task_logger(__name__)


@shared_task(name="notifications.tasks.send_welcome_email")
def send_welcome_email(account_id):
    account = Account.objects.get(pk=account_id)  # DoesNotExist when sent before COMMIT
    account.welcomed = True
    account.save(update_fields=["welcomed"])
    logger.info("Welcomed account %s", account_id)
'''

CELERY_MODULE = """import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")

app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
"""

INIT = 'from .celery import app as celery_app\n\n__all__ = ("celery_app",)\n'

POSTGRES = """DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "%(name)s",
        "USER": "%(user)s",
        "HOST": "%(host)s",
        "PORT": "%(port)s",
    }
}"""


def use_postgres(project: Path, database: str) -> None:
    """Point the project's settings at the PostgreSQL database `database` on 127.0.0.1:5432."""
    settings = project / "shop" / "settings.py"
    text = settings.read_text()
    start = text.index("DATABASES = {")
    end = text.index("\n}\n", start) + 2
    values = {"name": database, "user": USER, "host": HOST, "port": PORT}
    settings.write_text(text[:start] + POSTGRES % values + text[end:])


def make_signup_project(dest: Path) -> Path:
    """Build the project at `dest` (SQLite; `use_postgres` switches a copy to PostgreSQL)."""
    project = make_sample_project(dest, "shop", ("accounts", "notifications"))
    (project / "accounts" / "models.py").write_text(ACCOUNT_MODEL)
    (project / "accounts" / "views.py").write_text(SIGNUP_VIEW)
    (project / "notifications" / "tasks.py").write_text(WELCOME_TASKS)
    for migration in (project / "accounts" / "migrations").glob("0*.py"):
        migration.unlink()
    (project / "shop" / "celery.py").write_text(CELERY_MODULE)
    (project / "shop" / "__init__.py").write_text(INIT)
    settings = project / "shop" / "settings.py"
    text = settings.read_text().replace(
        "from pathlib import Path\n", "import os\nfrom pathlib import Path\n", 1
    )
    text += '\nCELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0")\n'
    settings.write_text(text)
    run([sys.executable, "manage.py", "makemigrations", "accounts"], project)
    return project


# Run in the project's interpreter: the view inside the request's transaction (as ATOMIC_REQUESTS wraps
# it), which then goes on for a while before it commits; prints the new account's id.
SIGNUP_DRIVER = """import json
import sys
import time

import django

django.setup()

from django.db import transaction  # noqa: E402
from django.test import RequestFactory  # noqa: E402

from accounts.views import signup  # noqa: E402

with transaction.atomic():
    response = signup(RequestFactory().post("/signup/", {"email": sys.argv[1]}))
    time.sleep(float(sys.argv[2]))
print(json.loads(response.content)["id"])
"""
