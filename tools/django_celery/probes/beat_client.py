"""Beat side of live verification, run in the project's interpreter with the overlay settings.

Two commands, each printing exactly one line `DJINT_RESULT <json>`:

- `schedule`: check the time settings beat depends on, remember which django-celery-beat rows exist,
  then create an IntervalSchedule (every second) and a one-off PeriodicTask for a project task, routed
  to the verification queue. Beat started afterwards finds it in the database and sends it when due.
- `cleanup`: delete every django-celery-beat row that did not exist before (ours, and the default
  entries beat installs on start, e.g. celery.backend_cleanup), restore the change marker beat keeps,
  delete the stored result of the fired task, and optionally tell the worker to shut down.

A SQLite project is verified on a temp copy, so this only matters for server databases, where it leaves
the tables as they were found. Standard library, Django, Celery and django-celery-beat only; kept
compatible with old interpreters.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback

MARKER = "DJINT_RESULT "
BEAT_MODELS = ("PeriodicTask", "IntervalSchedule", "CrontabSchedule", "SolarSchedule", "ClockedSchedule")


def emit(payload: dict) -> None:
    sys.stdout.write(MARKER + json.dumps(payload, default=str) + "\n")
    sys.stdout.flush()


def load_celery_app(target: str):
    """The project's Celery app, found exactly the way `celery -A <target>` finds it."""
    from celery.app.utils import find_app

    return find_app(target)


def beat_models() -> dict:
    from django_celery_beat import models

    return {name: getattr(models, name) for name in BEAT_MODELS if hasattr(models, name)}


def time_settings(app) -> dict:
    """TIME_ZONE / USE_TZ against Celery's timezone, and what beat needs of them."""
    from django.conf import settings

    found = {
        "TIME_ZONE": settings.TIME_ZONE,
        "USE_TZ": settings.USE_TZ,
        "celery_timezone": str(app.conf.timezone) if app.conf.timezone else None,
        "enable_utc": bool(app.conf.enable_utc),
        "beat_tz_aware": getattr(settings, "DJANGO_CELERY_BEAT_TZ_AWARE", True),
        "scheduler": app.conf.beat_scheduler,
    }
    problems = []
    if found["celery_timezone"] and found["celery_timezone"] != settings.TIME_ZONE:
        problems.append(
            "CELERY_TIMEZONE is {!r} but TIME_ZONE is {!r}: schedules would fire at other hours than the "
            "project means; set CELERY_TIMEZONE = TIME_ZONE".format(
                found["celery_timezone"], settings.TIME_ZONE
            )
        )
    if not settings.USE_TZ and found["beat_tz_aware"]:
        problems.append(
            "USE_TZ is False while django-celery-beat stores aware times: set DJANGO_CELERY_BEAT_TZ_AWARE = False"
        )
    found["problems"] = problems
    return found


def schedule(args: argparse.Namespace, report: dict) -> None:
    import django

    django.setup()
    from django.utils import timezone

    app = load_celery_app(args.app)
    report["time"] = time_settings(app)
    models = beat_models()
    report["existing"] = {
        name: sorted(model.objects.values_list("pk", flat=True)) for name, model in models.items()
    }
    from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

    marker = PeriodicTasks.objects.filter(ident=1).values_list("last_update", flat=True).first()
    report["marker"] = marker.isoformat() if marker else None
    report["marker_existed"] = marker is not None or PeriodicTasks.objects.filter(ident=1).exists()
    interval = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    task = PeriodicTask.objects.create(
        name=args.name,
        task=args.task,
        interval=interval,
        args=args.args_json,
        queue=args.queue,
        one_off=True,
        start_time=timezone.now(),
    )
    report["created"] = {"PeriodicTask": task.pk, "IntervalSchedule": interval.pk}
    report["ok"] = True


def cleanup(args: argparse.Namespace, report: dict) -> None:
    import django

    django.setup()
    from django.utils.dateparse import parse_datetime

    state = json.loads(args.state)
    removed = {}
    models = beat_models()
    for name in BEAT_MODELS:  # tasks first: they reference the schedules
        model = models.get(name)
        if model is None:
            continue
        before = set(state.get("existing", {}).get(name, []))
        extra = model.objects.exclude(pk__in=before)
        removed[name] = extra.count()
        extra.delete()
    from django_celery_beat.models import PeriodicTasks

    if state.get("marker_existed"):
        if state.get("marker"):
            PeriodicTasks.objects.filter(ident=1).update(last_update=parse_datetime(state["marker"]))
    else:
        PeriodicTasks.objects.filter(ident=1).delete()
    report["removed"] = removed
    if args.task_id:
        report["result_removed"] = remove_result(args.app, args.task_id)
    if args.node:
        app = load_celery_app(args.app)
        app.control.shutdown(destination=[args.node])
        report["shutdown_sent"] = True
    report["ok"] = True


def remove_result(app_target: str, task_id: str) -> bool:
    """Delete the stored result of the task beat sent: its TaskResult row, or the key in another backend."""
    from django.apps import apps

    if apps.is_installed("django_celery_results"):
        from django_celery_results.models import TaskResult

        deleted, _ = TaskResult.objects.filter(task_id=task_id).delete()
        return bool(deleted)
    from celery.backends.base import DisabledBackend

    app = load_celery_app(app_target)
    if isinstance(app.backend, DisabledBackend):
        return False
    app.AsyncResult(task_id).forget()
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["schedule", "cleanup"])
    parser.add_argument("--app", required=True)
    parser.add_argument("--name", help="name of the PeriodicTask to create")
    parser.add_argument("--task", help="registered name of the task beat sends")
    parser.add_argument("--args-json", default="[]", help="positional arguments of the task, as JSON")
    parser.add_argument("--queue", help="the verification queue")
    parser.add_argument("--state", help="the JSON the schedule command printed")
    parser.add_argument("--task-id", help="id of the task beat sent (its stored result is deleted)")
    parser.add_argument("--node", help="worker node to shut down after cleaning up")
    args = parser.parse_args()
    report: dict = {"ok": False}
    try:
        (schedule if args.command == "schedule" else cleanup)(args, report)
    except Exception:
        report["error"] = "".join(traceback.format_exc().splitlines(keepends=True)[-12:])
    emit(report)


if __name__ == "__main__":
    main()
