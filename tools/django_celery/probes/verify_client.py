"""Client side of live verification, run in the user's project interpreter with the overlay settings.

The agent never imports the user's code, so everything that needs Django or the project's Celery app
happens here, in a subprocess that stays up for two steps, each answered with exactly one line
`DJINT_RESULT <json>`:

- `preflight` (at once): load the settings, read INSTALLED_APPS, load the project's Celery app, report the broker
  and result backend it really uses, and check that the broker (and a Redis result backend) answers. On a
  real broker it runs before any worker is started, so an unreachable broker is reported in about a second.
- with `--migrate`, right after a passing preflight: migrate the overlay's temp copy of the SQLite database
  when anything is left to apply (`{"ok": true, "applied": n}` or the error).
- `roundtrip` (when the parent sends one JSON line on stdin: node, queue, apps, timeout, shutdown): ask the
  live worker (by node name, stopping at its first reply) which tasks it registered,
  send one task that needs no arguments to the verification queue, wait for its result, check the result
  backend stored it, and remove what the round trip left behind (TaskResult row, Redis result key).

One process for both, started beside the worker, so the worker's start-up overlaps this probe's own: one
interpreter and one django.setup() instead of two, the second of which used to wait for the worker.

Only the standard library, Django and Celery (with kombu) are used: the project has those already.
Kept compatible with old interpreters (no match statements, no runtime `X | Y` annotations).
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import time
import traceback

MARKER = "DJINT_RESULT "


def emit(payload: dict) -> None:
    sys.stdout.write(MARKER + json.dumps(payload, default=str) + "\n")
    sys.stdout.flush()


def error_tail(limit: int = 12) -> str:
    """The last lines of the current traceback: enough to name the failing import or setting."""
    return "".join(traceback.format_exc().splitlines(keepends=True)[-limit:])


def load_celery_app(target: str):
    """The project's Celery app, found exactly the way `celery -A <target>` finds it."""
    from celery.app.utils import find_app

    return find_app(target)


def os_error_reason(exc: BaseException) -> str | None:
    """The operating system's words ("Connection refused") from anywhere in the exception chain."""
    seen = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror
        seen = seen.__cause__ or seen.__context__
    return None


def reachability_error(url: str, what: str) -> str | None:
    """None when `url` accepts a connection, else a message that says what to do."""
    from kombu import Connection
    from kombu.utils.url import maybe_sanitize_url

    try:
        with Connection(url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=3)
    except Exception as exc:
        reason = os_error_reason(exc) or str(exc) or type(exc).__name__
        variable = "CELERY_BROKER_URL" if what == "broker" else "CELERY_RESULT_BACKEND"
        return f"cannot reach the {what} at {maybe_sanitize_url(url)} ({reason}): start it or set {variable}"
    return None


def per_process_cache_error(settings, alias: str):
    """django-cache results in a cache only one process sees never reach the caller: refuse it."""
    engine = (settings.CACHES.get(alias) or {}).get("BACKEND", "")
    if not engine:
        return f"CELERY_CACHE_BACKEND names the cache {alias!r}, which CACHES does not define"
    if "locmem" in engine.lower() or "dummy" in engine.lower():
        return (
            f"django-cache results would go to the cache {alias!r} ({engine}), which lives inside one "
            "process: the worker's results never reach the caller. Point CELERY_CACHE_BACKEND at a shared "
            "cache (database, Redis, Memcached), e.g. django.core.cache.backends.db.DatabaseCache"
        )
    return None


def preflight(args: argparse.Namespace, report: dict) -> None:
    import django
    from django.conf import settings

    try:
        django.setup()
    except Exception:
        report["error"] = "the settings do not load (django.setup() failed):\n" + error_tail()
        return
    report["installed_apps"] = list(settings.INSTALLED_APPS)
    try:
        app = load_celery_app(args.app)
    except Exception:
        report["error"] = "the project's Celery app does not load:\n" + error_tail()
        return
    conf = app.conf
    report["transport_options"] = dict(conf.broker_transport_options or {})
    report["always_eager"] = bool(conf.task_always_eager)
    report["broker_error"] = reachability_error(conf.broker_url or "amqp://", "broker")
    backend = conf.result_backend or ""
    if backend.startswith(("redis://", "rediss://")):
        report["backend_error"] = reachability_error(backend, "result backend")
    elif backend == "django-cache":
        report["backend_error"] = per_process_cache_error(settings, conf.cache_backend or "default")
    report["ok"] = True


def registered_by_node(app, node: str, timeout: float) -> list:
    """The node's registered task names; the first reply ends the wait (limit=1).

    Asked in rounds, because a request sent before the worker bound its control queue is lost. Each
    round waits twice as long as the one before: a reply that comes after its round has closed carries
    a stale ticket and is never used, so on a loaded machine fixed one-second rounds could all miss.
    """
    deadline = time.monotonic() + timeout
    round_timeout = 1.0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"worker {node} did not answer `inspect registered` within {timeout:.0f} s")
        inspector = app.control.inspect(destination=[node], timeout=min(round_timeout, remaining), limit=1)
        reply = inspector.registered()
        if reply and node in reply:
            return sorted(reply[node])
        round_timeout = min(round_timeout * 2, 8.0)


def required_parameters(task) -> list:
    try:
        signature = inspect.signature(task.run)
    except (TypeError, ValueError):
        return ["<unknown signature>"]
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [
        name
        for name, parameter in signature.parameters.items()
        if parameter.default is inspect.Parameter.empty and parameter.kind not in variadic
    ]


def owning_app(task_name: str, task_module: str, apps: dict) -> str | None:
    """Label of the local app whose package defines the task (by module, else by name prefix): its
    tasks.py, or a module of the app that tasks.py imports (autodiscovery loads both the same way)."""
    for label, module in sorted(apps.items(), key=lambda item: -len(item[1])):
        for candidate in (task_module, task_name):
            if candidate.startswith(module + "."):
                return label
    return None


def group_by_app(app, registered: list, apps: dict) -> tuple:
    """({label: [task names]}, [names of local no-argument tasks, best round-trip candidates first])."""
    by_app: dict = {label: [] for label in apps}
    candidates = []
    for name in registered:
        task = app.tasks.get(name)
        module = getattr(task, "__module__", "") if task is not None else ""
        label = owning_app(name, module or "", apps)
        if label is None:
            continue
        by_app[label].append(name)
        if task is not None and not required_parameters(task):
            candidates.append(name)
    candidates.sort(key=lambda name: not name.rsplit(".", 1)[-1].startswith("count_"))
    return by_app, candidates


def stored_in_database(task_id: str) -> bool:
    """True when django_celery_results saved the task as SUCCESS; the row is deleted afterwards."""
    from django_celery_results.models import TaskResult

    rows = TaskResult.objects.filter(task_id=task_id)
    stored = rows.filter(status="SUCCESS").exists()
    rows.delete()
    return stored


def roundtrip(args: argparse.Namespace, report: dict) -> None:
    import django

    django.setup()
    app = load_celery_app(args.app)
    app.loader.import_default_modules()
    try:
        exchange(app, args, report)
    finally:
        # Ask the worker to stop now: a remote shutdown ends its loop at once. Not when the parent still
        # has to watch the log for the task's success (no result backend): it would never be consumed.
        if args.shutdown and report.get("stores_results", True):
            app.control.shutdown(destination=[args.node])
            report["shutdown_sent"] = True
        remove_redis_queue(app, args.queue)


def remove_redis_queue(app, name: str) -> None:
    """Leave no binding of the verification queue in Redis (RabbitMQ auto-deletes it by itself)."""
    with app.connection_for_write() as connection:
        if connection.transport.driver_type != "redis":
            return
        queue = app.amqp.queues[name](connection.default_channel)
        queue.declare()
        queue.delete()


def exchange(app, args: argparse.Namespace, report: dict) -> None:
    """Inspect the node, then send one task to the verification queue and wait for its result."""
    from celery.backends.base import DisabledBackend

    started = time.monotonic()
    report["registered"] = registered_by_node(app, args.node, args.timeout)
    report["inspect_ms"] = round((time.monotonic() - started) * 1000)
    apps = dict(pair.split("=", 1) for pair in args.apps)
    report["by_app"], candidates = group_by_app(app, report["registered"], apps)
    if candidates:
        name, call_args = candidates[0], []
    else:
        name, call_args = "celery.accumulate", [1]
        report["note"] = "no project task without arguments is registered, so only celery.accumulate ran"
    report["task"] = name
    report["stores_results"] = not isinstance(app.backend, DisabledBackend)
    sent = time.monotonic()
    result = app.send_task(name, args=call_args, queue=args.queue)
    report["task_id"] = result.id
    if not report["stores_results"]:
        report["ok"] = True  # the parent reads the success from the worker log
        return
    try:
        value = result.get(timeout=args.timeout, interval=0.05, propagate=False)
    except Exception as exc:
        report["error"] = f"no result for {name} within {args.timeout:.0f} s: {type(exc).__name__}: {exc}"
        return
    report["ms"] = round((time.monotonic() - sent) * 1000, 1)
    report["result"] = value if result.successful() else repr(value)
    if not result.successful():
        report["error"] = f"{name} ended {result.status}: {value!r}{failure_hint(result.status, value)}"
        return
    if type(app.backend).__module__.startswith("django_celery_results.backends.database"):
        report["stored_in_backend"] = stored_in_database(result.id)
    else:
        report["stored_in_backend"] = True  # get() read it back from the backend
        result.forget()
    report["ok"] = True


def failure_hint(status: str, value: object) -> str:
    """What a task failure means when the task ran: its own code raised, so say where to look."""
    if status != "FAILURE" or not isinstance(value, BaseException):
        return ""
    hint = (
        " (the worker ran the task and the task's own code raised; its tables are missing, so the "
        "database is not migrated: run `manage.py migrate`, then verify again)"
        if type(value).__name__ in ("ProgrammingError", "OperationalError") and "exist" in str(value)
        else " (the worker ran the task and the task's own code raised; see the worker log)"
    )
    return hint


def migrate_copy() -> dict:
    """Migrate the verification copy of the SQLite database (the overlay's DATABASES) when its plan has
    anything left to apply: here, where Django is set up already, instead of in one more interpreter."""
    from django.core.management import call_command
    from django.db import connection, connections
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            call_command("migrate", interactive=False, verbosity=0)
    except Exception:
        return {"ok": False, "error": error_tail()}
    finally:
        connections.close_all()
    return {"ok": True, "applied": len(pending)}


def session(args: argparse.Namespace) -> None:
    """Preflight now (then the copy's migrations, with --migrate); the round trip when the parent sends
    the worker's node (EOF: nothing more to do)."""
    report: dict = {"ok": False}
    try:
        preflight(args, report)
    except Exception:
        report["error"] = error_tail()
    emit(report)
    if not report["ok"]:
        return
    if args.migrate:
        emit(migrate_copy())
    line = sys.stdin.readline()
    if not line.strip():
        return
    for key, value in json.loads(line).items():
        setattr(args, key, value)
    report = {"ok": False}
    try:
        roundtrip(args, report)
    except Exception:
        report["error"] = error_tail()
    emit(report)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--app", required=True, help="what `celery -A` takes: the app's package or module")
    parser.add_argument("--migrate", action="store_true", help="migrate the database copy after preflight")
    args = parser.parse_args()
    # Set by the parent's request line: node (the live worker's full name), queue (the verification
    # queue it consumes), apps (label=module of every local app), timeout, shutdown (stop it afterwards).
    args.node, args.queue, args.apps, args.timeout, args.shutdown = None, None, [], 20.0, False
    session(args)


if __name__ == "__main__":
    main()
