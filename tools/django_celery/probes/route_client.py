"""Client side of the live routing check, run in the project's interpreter with the routing overlay.

For each task name given, ask the project's own router which queue it picks, then send the task with
no explicit queue (so the router decides, as in production) and print the task ids in one line
`DJINT_RESULT <json>`. Every task is sent with a one-day countdown: the worker receives it (which is the
proof) but never runs it, so a task of the user's with side effects is safe to use, and its required
arguments can be placeholders. Standard library, Django and Celery only.
"""

from __future__ import annotations

import argparse

from verify_client import emit, error_tail, load_celery_app, required_parameters

NEVER_DURING_THE_CHECK_S = 24 * 3600


def send(args: argparse.Namespace, report: dict) -> None:
    import django

    django.setup()
    app = load_celery_app(args.app)
    app.loader.import_default_modules()
    report["sent"], report["skipped"] = [], []
    for name in args.send:
        task = app.tasks.get(name)
        if task is None:
            report["skipped"].append(name)
            continue
        queue = app.amqp.router.route({}, name, (), {}).get("queue")
        placeholders = [None] * len(required_parameters(task))
        result = app.send_task(name, args=placeholders, countdown=NEVER_DURING_THE_CHECK_S)
        report["sent"].append({"task": name, "id": result.id, "router_queue": getattr(queue, "name", queue)})
    report["ok"] = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--app", required=True)
    parser.add_argument("--send", nargs="*", default=[], help="task names to send through the router")
    args = parser.parse_args()
    report: dict = {"ok": False}
    try:
        send(args, report)
    except Exception:
        report["error"] = error_tail()
    emit(report)


if __name__ == "__main__":
    main()
