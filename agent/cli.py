"""`django-integrator`: run | chat | demo | audit | agents | undo | diff | resume | runs | eval.

Exit codes: 0 every gate passed; 1 the run finished without passing (a gate failed, a budget ran out);
2 bad input (not a Django project, an unusable model setting, a broken definition) — the message names
the problem and the fix.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from agent.agents_command import add_agents_dir_argument, add_agents_parser, list_agents

# The runtime (LangGraph, langchain-core, pydantic models, libcst) is imported by the commands that use
# it, never at module level: `--help`, `runs`, `diff` and `undo` start in a fraction of a second.
if TYPE_CHECKING:
    from agent.config import RunOptions
    from agent.console import Console
    from agent.report import RunReport
    from agent.runner import Runner, RunOutcome

EXIT_PASSED, EXIT_FAILED, EXIT_INPUT = 0, 1, 2


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        choices=["django-db", "redis", "django-cache", "none"],
        help="result backend (default: ask, or django-db when not interactive)",
    )
    beat = parser.add_mutually_exclusive_group()
    beat.add_argument(
        "--beat", dest="beat", action="store_true", default=None, help="add django-celery-beat periodic tasks"
    )
    beat.add_argument("--no-beat", dest="beat", action="store_false", help="no periodic tasks")
    parser.add_argument("--apps", help="comma-separated app labels that get tasks (default: every local app)")
    parser.add_argument("--model", help="model id or alias; 'offline' for the deterministic offline policy")
    parser.add_argument(
        "--definition",
        help="agent definition file, or a plugin folder with one agent (default: our prompts/django-integrator.md)",
    )
    add_agents_dir_argument(parser)
    parser.add_argument(
        "--agent", help="run this agent of the --agents-dir folders, e.g. celery:django-integrator"
    )
    parser.add_argument("--python", help="the project's interpreter (default: its virtualenv, if any)")
    parser.add_argument(
        "--settings",
        dest="settings_module",
        help="the settings module, e.g. config.settings.local (default: manage.py's, $DJANGO_SETTINGS_MODULE, "
        ".env, then pytest's configuration)",
    )
    parser.add_argument(
        "--env-file",
        dest="env_files",
        action="append",
        default=[],
        metavar="FILE",
        help="dotenv file whose variables the project's processes get (repeatable; values are never recorded)",
    )
    parser.add_argument(
        "--broker",
        dest="broker_url",
        help="verify with this broker URL (default: $CELERY_BROKER_URL, else an embedded broker)",
    )
    parser.add_argument(
        "--no-network",
        action="store_true",
        help="never fetch documentation live; use the cache and bundled references",
    )
    parser.add_argument(
        "--max-tries", type=int, default=2, help="attempts per gate before stopping (default 2)"
    )
    parser.add_argument(
        "--keep-on-failure",
        action="store_true",
        help="keep the changes of a run that did not pass (default: put the project back)",
    )
    parser.add_argument(
        "--reverify",
        action="store_true",
        help="start the worker even when a passing run already verified this identical project live",
    )
    _consent(parser, "install-deps", "pip-install missing packages into the project's interpreter")
    parser.add_argument(
        "--project-tests",
        action="store_true",
        help="run the project's own tests before and after; a test that breaks fails the run",
    )
    _consent(parser, "rewrite-dispatch", "rewrite existing .delay() calls inside transactions to on_commit")
    _consent(parser, "rename-settings", "rename old-style Celery setting names (e.g. CELERY_ALWAYS_EAGER)")
    _consent(parser, "fix-url-passwords", "remove passwords from broker/backend URLs in your Celery settings")
    _consent(
        parser,
        "env-urls",
        "read broker/backend URLs written in your settings from the environment (their value kept as default)",
    )
    _consent(
        parser, "fix-eager", "turn CELERY_TASK_ALWAYS_EAGER = True off in the settings your project runs with"
    )
    parser.add_argument("--queues", help="comma-separated queues to route tasks to (default: ask, or none)")


def _permission_mode(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--permission-mode",
        choices=["ask", "accept-edits", "bypass"],
        default=None,
        help=f"which writes and shell commands wait for your approval: ask (both), accept-edits (commands), "
        f"bypass (none) (default: the definition's permissionMode, else {default}); ask rules always ask",
    )


def _output_arguments(parser: argparse.ArgumentParser) -> None:
    """How a one-shot run prints (the chat has its own screen, so it takes neither)."""
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of text")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the model's narration")


def _consent(parser: argparse.ArgumentParser, name: str, what: str) -> None:
    """--NAME / --no-NAME; unset means: ask in interactive runs, do not do it otherwise."""
    dest = name.replace("-", "_")
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        f"--{name}", dest=dest, action="store_true", default=None, help=f"{what} (default: ask)"
    )
    group.add_argument(f"--no-{name}", dest=dest, action="store_false", help="do not; only report")


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="django-integrator",
        description="Integrate Celery into a Django project and prove it works with a live worker.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="integrate Celery into the project at PATH")
    run.add_argument("path", help="the Django project (the folder with manage.py, or a parent of it)")
    run.add_argument("-y", "--yes", action="store_true", help="never ask; take the recommended answers")
    run.add_argument("arguments", nargs="*", help="extra request text passed to the definition as $ARGUMENTS")
    _permission_mode(run, "bypass")
    _run_arguments(run)
    _output_arguments(run)
    chat = sub.add_parser(
        "chat", help="a terminal session: integrate with /celery:setup, answer questions, /diff, /undo, ask"
    )
    chat.add_argument("path", nargs="?", default=".", help="the Django project (default: this folder)")
    chat.add_argument(
        "--resume", action="store_true", help="continue the last conversation held on this project"
    )
    _permission_mode(chat, "ask")
    _run_arguments(chat)
    demo = sub.add_parser(
        "demo", help="make a sample project (startproject + startapp), integrate and verify it"
    )
    demo.add_argument("--dir", help="where to create the sample project (default: a new temporary folder)")
    _run_arguments(demo)
    _output_arguments(demo)
    undo = sub.add_parser("undo", help="put the project back exactly as it was before a run")
    undo.add_argument("path")
    undo.add_argument(
        "--run", help="the run id to undo (default: the latest run whose changes are still in place)"
    )
    diff = sub.add_parser("diff", help="show what a run changed in the project (unified diff)")
    diff.add_argument("path")
    diff.add_argument("--run", help="the run id (default: the latest run whose changes are still in place)")
    resume = sub.add_parser(
        "resume", help="continue a run that crashed or was closed, from its last checkpoint"
    )
    resume.add_argument("run_id")
    audit = sub.add_parser(
        "audit", help="check a project's Celery setup (the checklist and hygiene rules) without writing"
    )
    audit.add_argument("path")
    audit.add_argument("--python", help="the project's interpreter (default: its virtualenv, if any)")
    audit.add_argument(
        "--settings", dest="settings_module", help="the settings module (default: as run finds it)"
    )
    audit.add_argument("--env-file", dest="env_files", action="append", default=[], metavar="FILE")
    audit.add_argument("--broker", dest="broker_url", help="verify with this broker (default: embedded)")
    audit.add_argument("--strict", action="store_true", help="hygiene findings in your own code fail too")
    audit.add_argument("--json", action="store_true", help="print the report as JSON")
    runs = sub.add_parser("runs", help="list the runs recorded for a project")
    runs.add_argument("path")
    add_agents_parser(sub)
    evals = sub.add_parser(
        "eval", help="eval cases: `eval run` (report table), `eval replay TRANSCRIPT…`", add_help=False
    )
    evals.add_argument("eval_args", nargs=argparse.REMAINDER)
    return parser


def _options(args: argparse.Namespace, project: Path, interactive: bool) -> RunOptions:
    from agent.config import RunOptions

    return RunOptions(
        project=str(project.resolve()),
        definition=args.definition,
        agents_dirs=args.agents_dirs,
        agent=args.agent,
        arguments=" ".join(getattr(args, "arguments", []) or []),
        interactive=interactive,
        permission_mode=getattr(args, "permission_mode", None),
        model=args.model,
        python=args.python,
        settings_module=dotted_module(args.settings_module),
        env_files=[str(Path(f).expanduser().resolve()) for f in args.env_files],
        backend=args.backend,
        beat=args.beat,
        apps=_csv(args.apps),
        broker_url=args.broker_url,
        allow_network=not args.no_network,
        max_gate_tries=max(1, args.max_tries),
        keep_on_failure=args.keep_on_failure,
        reverify=args.reverify,
        install_deps=args.install_deps,
        project_tests=args.project_tests,
        rewrite_dispatch=args.rewrite_dispatch,
        rename_settings=args.rename_settings,
        fix_url_passwords=args.fix_url_passwords,
        fix_eager=args.fix_eager,
        env_urls=args.env_urls,
        queues=_csv(args.queues),
    )


def drive(runner: Runner, console: Console, outcome: RunOutcome) -> RunReport:
    """Answer questions at the terminal until the run ends."""
    from agent.terminal_questions import ask_at_terminal

    while outcome.question is not None:
        outcome = runner.answer(ask_at_terminal(console, outcome.question))
    assert outcome.report is not None
    return outcome.report


def prefetch_discovery(options: RunOptions) -> threading.Thread:
    """Ask discovery's question of the project's interpreter now, while the runtime below is still being
    imported (about a second): discovery then finds the answer ready, the same question on the same files."""
    from tools.django_celery.answer_memo import prefetch
    from tools.django_celery.discovery import discover_project

    project = Path(options.project)
    return prefetch(
        lambda: discover_project(project, options.python, options.settings_module, options.env_files)
    )


def execute(options: RunOptions, as_json: bool, verbose: bool, runner_id: str | None = None) -> int:
    """Run (or resume) one integration at the terminal: the project session discovery's prefetch starts
    serves the whole run and ends with it."""
    from tools.django_celery.project_session import project_sessions

    with project_sessions():
        return _execute(options, as_json, verbose, runner_id)


def _execute(options: RunOptions, as_json: bool, verbose: bool, runner_id: str | None) -> int:
    prefetching = prefetch_discovery(options)
    if runner_id is None:
        code = _verified_noop(options, as_json, verbose)
        if code is not None:
            prefetching.join()
            return code
    from agent.console import Console
    from agent.ctrl_c import CtrlCLatch
    from agent.definition import DefinitionError
    from agent.models import ModelConfigError
    from agent.plugins import context_warnings
    from agent.runner import NothingToResume, Runner

    console = Console(stream=sys.stderr if as_json else sys.stdout, verbose=verbose)
    ctrl_c = CtrlCLatch()

    def progress(event: str, data: dict) -> None:
        ctrl_c.check()  # a Ctrl-C Python lost in a fork callback stops the run at its next event
        console.progress(event, data)

    try:
        runner = Runner(options, progress=progress, run_id=runner_id)
    except (DefinitionError, ModelConfigError, ValueError) as exc:
        print(f"django-integrator: {exc}", file=sys.stderr)
        prefetching.join()  # its probe must not outlive the command when main() is called in-process
        return EXIT_INPUT
    for warning in context_warnings(runner.context, options):
        print(f"django-integrator: warning: {warning}", file=sys.stderr)
    console.line(console.paint(f"django-integrator · {options.project}", "\033[1m"))
    console.line(
        console.paint(
            f"model: {runner.context.model_label} · definition: {runner.context.definition.path}"
            f" · run {runner.run_id}",
            "\033[2m",
        )
    )
    try:
        with ctrl_c:
            report = drive(runner, console, runner.start() if runner_id is None else runner.resume())
    except NothingToResume as exc:
        print(f"django-integrator: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        runner.abort()  # pressed at a question the graph is paused on: no node of it saw the press
        console.line("\nInterrupted: the project was put back exactly as it was.")
        return 130
    finally:
        runner.close()
    bad_input = (
        report.status == "error" and report.usage.get("model_calls", 0) == 0 and not report.changed_files
    )
    if as_json:
        print(report.model_dump_json(indent=2))
    elif bad_input:  # nothing was reached: the checklist would be eleven "not reached" lines around the error
        print(f"django-integrator: {report.error} (Nothing was changed.)", file=sys.stderr)
    else:
        console.report(report)
    if bad_input:
        return EXIT_INPUT
    return EXIT_PASSED if report.status == "passed" else EXIT_FAILED


def _verified_noop(options: RunOptions, as_json: bool, verbose: bool) -> int | None:
    """When the project already is the verified result of a passing run: its report, without building the
    graph (agent.noop_run); None when the full run must run."""
    from agent.console import Console
    from agent.noop_run import verified_noop

    report = verified_noop(options)
    if report is None:
        return None
    console = Console(stream=sys.stderr if as_json else sys.stdout, verbose=verbose)
    console.line(console.paint(f"django-integrator · {options.project}", "\033[1m"))
    console.line(
        console.paint(
            f"model: {report.model} · definition: {report.definition} · run {report.run_id}", "\033[2m"
        )
    )
    if as_json:
        print(report.model_dump_json(indent=2))
    else:
        console.report(report)
    return EXIT_PASSED


def _undo(path: Path, run_id: str | None) -> int:
    from tools.journal import state_home
    from tools.run_selection import select_run
    from tools.scratch import sweep_stale_scratch

    sweep_stale_scratch()  # temp folders of runs that were killed
    selected = select_run(path, run_id)
    if selected is None and run_id is not None:
        print(f"django-integrator: no run {run_id} recorded for {path.resolve()}.", file=sys.stderr)
        return EXIT_INPUT
    if selected is not None and selected.journal.index.status == "rolled_back":
        print(f"django-integrator: run {run_id} was already undone.", file=sys.stderr)
        return EXIT_INPUT
    if selected is None:
        print(
            f"Nothing to undo: no run recorded for {path.resolve()} has changes still in place "
            f"(`django-integrator runs {path}` lists the runs; they are kept under {state_home()})."
        )
        return EXIT_PASSED
    restored = selected.journal.rollback()
    print(
        f"Undid {selected.description()}: restored {len(restored)} file(s)"
        + (": " + ", ".join(restored) if restored else ".")
    )
    return EXIT_PASSED


def _diff(path: Path, run_id: str | None) -> int:
    """The unified diff on stdout (ready for `git apply`), which run it is on stderr."""
    from tools.journal import Journal
    from tools.run_selection import select_run

    if not Journal.runs_for(path):
        print(f"django-integrator: no run recorded for {path.resolve()}.", file=sys.stderr)
        return EXIT_INPUT
    selected = select_run(path, run_id)
    if selected is None and run_id is not None:
        print(f"django-integrator: no run {run_id} recorded for {path.resolve()}.", file=sys.stderr)
        return EXIT_INPUT
    if selected is None or not selected.changed:
        which = f"run {run_id} has no changes" if run_id else "no recorded run has changes"
        print(f"django-integrator: {which} still in place in {path.resolve()}.", file=sys.stderr)
        return EXIT_PASSED
    print(f"django-integrator: changes of {selected.description()}", file=sys.stderr)
    print(selected.journal.diff(), end="")
    return EXIT_PASSED


def _runs(path: Path) -> int:
    from tools.journal import Journal

    journals = Journal.runs_for(path)
    if not journals:
        print(f"No runs recorded for {path.resolve()}.")
    for journal in journals:
        index = journal.index
        if index.status == "finished" and all(e.changed_by_run is not None for e in index.entries):
            what = f"changed {sum(bool(e.changed_by_run) for e in index.entries)} file(s)"
        else:  # undone, paused, crashed, or recorded before runs noted what they changed
            what = f"{len(index.entries)} file(s) recorded"
        print(f"{index.run_id}  {index.status:<12} {what}")
    return EXIT_PASSED


def console_main() -> None:
    """The `django-integrator` command: `main()`; after a `run` or `resume`, the process then ends at once.

    By then everything the run writes is closed (transcript lines, checkpoints, journal, the project's
    processes), and tearing down the interpreter's modules (LangChain, LangGraph, libcst, pydantic) would
    only add 0.1 s of CPU after the report is printed. Other commands exit normally: the eval commands
    remove their fixtures in atexit handlers.
    """
    code = main()
    if sys.argv[1:2] in (["run"], ["resume"]):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "undo":
        return _undo(Path(args.path), args.run)
    if args.command == "runs":
        return _runs(Path(args.path))
    if args.command == "resume":
        return _resume(args.run_id)
    if args.command == "demo":
        return _demo(args)
    if args.command == "eval":
        from agent.evals.commands import main as eval_main

        return eval_main(args.eval_args)
    if args.command == "agents":
        return list_agents(args.agents_dirs)
    if args.command == "diff":
        return _diff(Path(args.path), args.run)
    if args.command == "audit":
        return _audit(args)
    project = Path(args.path)
    if not project.is_dir():
        print(f"django-integrator: {not_a_folder(project)}", file=sys.stderr)
        return EXIT_INPUT
    if args.command == "chat":
        from agent.chat import chat

        return chat(_options(args, project, interactive=True), resume=args.resume)
    interactive = not args.yes and sys.stdin.isatty()
    options = _options(args, project, interactive)
    if interactive and options.settings_module is None:
        options.settings_module = _ask_settings_module(project)
    return execute(options, args.json, args.verbose)


def dotted_module(value: str | None) -> str | None:
    """`--settings mysite/settings.py` (a path, as shells complete it) means the module `mysite.settings`."""
    if value is None or ("/" not in value and not value.endswith(".py")):
        return value
    return value.removesuffix(".py").strip("/").replace("/", ".")


def not_a_folder(path: Path) -> str:
    """Why `path` cannot be the project, and what to pass instead."""
    if path.exists():
        return (
            f"{path} is a file, not a folder. Pass the folder that holds your Django project's manage.py "
            f"(perhaps {path.resolve().parent})."
        )
    return f"{path} does not exist. Pass the path of your Django project (the folder with manage.py)."


def _ask_settings_module(project: Path) -> str | None:
    """When nothing names the settings module, let the user pick one of the candidates at the terminal
    (None: something else is wrong, or nothing to pick from; discovery then reports it)."""
    from tools.django_celery.discovery import DiscoveryError, settings_choice
    from tools.django_celery.settings_source import SettingsModuleUnknown

    try:
        settings_choice(project)
    except SettingsModuleUnknown as exc:
        if not exc.candidates:
            return None
        print("No settings module is named by manage.py, the environment, .env or pytest's configuration.")
        for number, module in enumerate(exc.candidates, start=1):
            print(f"  {number}. {module}")
        answer = input(f"Which settings should the run use? [1: {exc.candidates[0]}] ").strip()
        if answer.isdigit() and 1 <= int(answer) <= len(exc.candidates):
            return exc.candidates[int(answer) - 1]
        return answer or exc.candidates[0]
    except DiscoveryError:
        return None
    return None


def _audit(args: argparse.Namespace) -> int:
    from agent.audit import audit_project, render
    from agent.config import RunOptions
    from tools.django_celery.discovery import DiscoveryError

    project = Path(args.path)
    if not project.is_dir():
        print(f"django-integrator: {not_a_folder(project)}", file=sys.stderr)
        return EXIT_INPUT
    options = RunOptions(
        project=str(project.resolve()),
        python=args.python,
        settings_module=dotted_module(args.settings_module),
        env_files=[str(Path(f).expanduser().resolve()) for f in args.env_files],
        broker_url=args.broker_url,
    )
    try:
        report = audit_project(options, strict=args.strict)
    except DiscoveryError as exc:
        print(f"django-integrator: {exc}", file=sys.stderr)
        return EXIT_INPUT
    print(report.model_dump_json(indent=2) if args.json else render(report))
    return EXIT_PASSED if report.passed else EXIT_FAILED


def _resume(run_id: str) -> int:
    from agent.config import RunOptions
    from agent.console import Console
    from agent.report import RunReport
    from tools.journal import state_home

    journal_file = state_home() / "runs" / run_id / "journal.json"
    if not journal_file.exists():
        print(f"django-integrator: no run {run_id} under {state_home() / 'runs'}.", file=sys.stderr)
        return EXIT_INPUT
    header = next(iter(json.loads(line) for line in (journal_file.parent / "transcript.jsonl").open()), None)
    if not header or header.get("type") != "header":
        print(f"django-integrator: run {run_id} has no transcript header; start a new run.", file=sys.stderr)
        return EXIT_INPUT
    events = [json.loads(line) for line in (journal_file.parent / "transcript.jsonl").open() if line.strip()]
    finished = next((e["report"] for e in reversed(events) if e.get("type") == "report"), None)
    if finished is not None:  # it ended (the process died while printing, say): show how, change nothing
        report = RunReport.model_validate(finished)
        console = Console(stream=sys.stdout, verbose=False)
        console.line(f"Run {run_id} had already finished; nothing left to resume. Its report:")
        console.report(report)
        return EXIT_PASSED if report.status == "passed" else EXIT_FAILED
    options = RunOptions.model_validate(header["options"])
    return execute(options, as_json=False, verbose=False, runner_id=run_id)


def _demo(args: argparse.Namespace) -> int:
    from agent.demo import DemoError, make_sample_project, missing_demo_packages

    missing = missing_demo_packages()
    if missing:
        print(
            f"django-integrator: the demo needs {', '.join(missing)} in this interpreter ({sys.executable}). "
            "Install them with: pip install 'django-integrator[demo]'",
            file=sys.stderr,
        )
        return EXIT_INPUT
    dest = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="django-integrator-demo-")) / "mysite"
    if dest.exists() and any(dest.iterdir()):
        print(f"django-integrator: {dest} is not empty; pass --dir with a new folder.", file=sys.stderr)
        return EXIT_INPUT
    try:
        make_sample_project(dest)
    except DemoError as exc:
        print(f"django-integrator: {exc}", file=sys.stderr)
        return EXIT_INPUT
    print(f"Sample project: {dest} (django-admin startproject mysite + startapp polls with models)")
    options = _options(args, dest, interactive=False)
    options.python = options.python or sys.executable
    return execute(options, args.json, args.verbose)


if __name__ == "__main__":
    sys.exit(main())
