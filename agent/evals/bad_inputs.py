"""The bad-input corpus: what users really pass, and what a trustworthy tool does with each.

Every case runs the real CLI in a subprocess (`agent.evals.bad_input_runner`) and states the behaviour chosen
for it. Most are bad input: exit 2, before anything is written, with one message that names the problem and
the fix. A few are not errors (a 10,000-file repository is discovered; a non-UTF-8 file the integration only
reads is read), and SIGINT mid-run exits 130 with the project put back. In every case the project ends
byte-identical, content and mode, and no process started for it survives.
"""

from __future__ import annotations

from agent.evals.bad_input_builders import (
    MODEL_KEY_CANARY,
    PASSWORD_CANARY,
    SETTINGS,
    BadInput,
    agents_dir_unknown_agent,
    append,
    bom_kept,
    chmod,
    crlf_kept,
    definition_case,
    edit,
    empty_folder,
    env_file_missing,
    file_not_folder,
    flags_case,
    installed_apps_from_a_function,
    interpreter_without_django,
    locked_project,
    missing_interpreter,
    missing_path,
    model_endpoint_refuses,
    not_an_interpreter,
    not_django,
    port_in_use,
    project_case,
    set_password_literal,
    sigint_mid_run,
    symlink_out,
    ten_thousand_files,
    two_manage_py,
    unreachable_broker,
    unreachable_database,
    with_bom,
    with_crlf,
)

CASES: list[BadInput] = [
    BadInput(
        "not_a_django_project",
        "a folder of other code: exit 2, no manage.py found, pass the project's path",
        not_django,
        ("no manage.py", "pass its path"),
    ),
    BadInput("empty_folder", "exit 2: the folder is empty", empty_folder, ("empty", "pass its path")),
    BadInput(
        "file_instead_of_folder",
        "exit 2: a file was given; the message names the folder that holds it",
        file_not_folder,
        ("is a file", "pass the folder"),
    ),
    BadInput("missing_path", "exit 2: the path does not exist", missing_path, ("does not exist",)),
    BadInput(
        "settings_syntax_error",
        "exit 2: the settings file and line of the syntax error, fix it and run again",
        project_case(lambda p: append(p / SETTINGS, "\nDEBUG = = True\n")),
        ("settings.py", "line", "syntax"),
    ),
    BadInput(
        "settings_raise_on_import",
        "exit 2: the exception the settings raise when imported, with its file and line",
        project_case(
            lambda p: append(p / SETTINGS, '\nraise RuntimeError("DATABASE_URL is not configured")\n')
        ),
        ("DATABASE_URL is not configured", "mysite/settings.py:125"),
    ),
    BadInput(
        "settings_import_missing_module",
        "exit 2: the settings import a package the interpreter lacks; install it",
        project_case(lambda p: append(p / SETTINGS, "\nimport sentry_sdk_not_installed\n")),
        ("sentry_sdk_not_installed", "install"),
    ),
    BadInput(
        "installed_app_missing",
        "exit 2: INSTALLED_APPS names an app the interpreter cannot import",
        project_case(
            lambda p: edit(
                p / SETTINGS,
                '"polls.apps.PollsConfig",',
                '"polls.apps.PollsConfig", "debug_toolbar_missing",',
            )
        ),
        ("debug_toolbar_missing",),
    ),
    BadInput(
        "installed_apps_built_by_a_function",
        "exit 2 before any write when an app must be added: INSTALLED_APPS = _installed_apps() has no list to "
        "extend safely; the message names the app and the choices that need none",
        project_case(installed_apps_from_a_function),
        ("INSTALLED_APPS = _installed_apps() is built by code", "'django_celery_results'", "--backend redis"),
    ),
    BadInput(
        "installed_apps_built_by_a_function_no_app_needed",
        "not an error with --backend none (or redis): no app has to be added, so the dynamic INSTALLED_APPS "
        "is only read (in the project's interpreter) and the run passes",
        project_case(installed_apps_from_a_function, "--backend", "none"),
        ("11/11 checklist items passed",),
        exit_code=0,
    ),
    BadInput(
        "read_only_settings_file",
        "exit 2 before any write: the settings file is read-only (mode bits, also for root); chmod u+w",
        project_case(chmod(SETTINGS, 0o444)),
        ("read-only", "chmod u+w"),
    ),
    BadInput(
        "read_only_project_package",
        "exit 2 before any write: the folder that gets celery.py is read-only; chmod u+w",
        project_case(chmod("mysite", 0o555)),
        ("read-only", "chmod u+w"),
    ),
    BadInput(
        "read_only_app_folder",
        "exit 2 before any write: the app that gets tasks.py is read-only; chmod u+w",
        project_case(chmod("polls", 0o555)),
        ("read-only", "chmod u+w"),
    ),
    BadInput(
        "two_manage_py",
        "exit 2: two Django projects under the path; both named, pass one",
        two_manage_py,
        ("shop/manage.py", "blog/manage.py"),
    ),
    BadInput(
        "symlink_leaving_project",
        "exit 2: an app folder is a symlink to outside the project; the agent changes nothing outside",
        symlink_out,
        ("symlink", "outside the project"),
    ),
    BadInput(
        "ten_thousand_files",
        "not an error: discovery skips what is not Python source and finds the project (timed in the report)",
        ten_thousand_files,
        (),
        exit_code=0,
    ),
    BadInput(
        "missing_interpreter",
        "exit 2: the --python path does not exist",
        missing_interpreter,
        ("--python", "no executable interpreter"),
    ),
    BadInput(
        "not_an_interpreter",
        "exit 2: --python names a file that is not a Python interpreter",
        not_an_interpreter,
        ("--python",),
    ),
    BadInput(
        "interpreter_without_django",
        "exit 2: the interpreter has no Django; pip install it there or pass --python",
        interpreter_without_django,
        ("django", "--python"),
    ),
    BadInput(
        "unreachable_broker",
        "exit 2 before any write: the broker does not answer; start it or pass --broker",
        unreachable_broker,
        ("does not answer", "--broker"),
    ),
    BadInput(
        "port_in_use",
        "exit 2 before any write: something else answers on the broker's port",
        port_in_use,
        ("not a redis server", "--broker"),
    ),
    BadInput(
        "unsupported_broker_scheme",
        "exit 2: a broker URL scheme the verification cannot use",
        flags_case("--broker", "http://127.0.0.1:8000/"),
        ("'http' is not supported", "redis://"),
    ),
    BadInput(
        "unreachable_database",
        "exit 2 before any write: the PostgreSQL server refuses the project's DATABASES",
        unreachable_database,
        ("refuses the connection", "DATABASES"),
    ),
    BadInput(
        "model_endpoint_refuses",
        "exit 2, nothing written: the model endpoint refuses connections; the URL and the fix are named",
        model_endpoint_refuses,
        ("OPENAI_BASE_URL", "--model offline"),
    ),
    BadInput(
        "model_without_endpoint_or_key",
        "exit 2: a model is asked for but no OPENAI_API_KEY or OPENAI_BASE_URL is set",
        flags_case("--model", "gpt-4o-mini"),
        ("OPENAI_API_KEY is not set", "--model offline"),
    ),
    BadInput(
        "definition_bad_yaml",
        "exit 2: the definition's frontmatter is not YAML; file:line and the fix",
        definition_case("---\nname: broken-agent\ndescription: [unclosed\n---\n\n## Phase 1\nDo it.\n"),
        ("broken-agent.md", "yaml"),
    ),
    BadInput(
        "definition_without_body",
        "exit 2: the definition has frontmatter and no body (no phases)",
        definition_case("---\nname: broken-agent\ndescription: Integrates Celery.\n---\n"),
        ("broken-agent.md", "body"),
    ),
    BadInput(
        "definition_missing",
        "exit 2: the --definition file does not exist",
        flags_case("--definition", "/nonexistent/agents/django-integrator.md"),
        ("/nonexistent/agents/django-integrator.md",),
    ),
    BadInput(
        "unknown_agent_in_plugin",
        "exit 2: --agent names no agent of the plugin; the agents it has are listed",
        agents_dir_unknown_agent,
        ("celery:django-integrater", "celery:django-integrator"),
    ),
    BadInput(
        "unknown_backend",
        "exit 2 (argparse): an unknown --backend, with the choices",
        flags_case("--backend", "rabbit"),
        ("--backend", "invalid choice", "django-db"),
    ),
    BadInput(
        "unknown_app",
        "exit 2: --apps names an app the project does not have; its apps are listed",
        flags_case("--apps", "blog"),
        ("blog", "polls"),
    ),
    BadInput(
        "unrelated_celery_py",
        "exit 2 before any write: mysite/celery.py exists and is not a Celery app; it is never overwritten",
        project_case(
            lambda p: (p / "mysite" / "celery.py").write_text("# Celery, the vegetable.\nSTALKS = 3\n")
        ),
        ("mysite/celery.py", "rename"),
    ),
    BadInput(
        "package_named_celery",
        "exit 2: a top-level module named celery shadows the library; rename it",
        project_case(lambda p: (p / "celery.py").write_text("STALKS = 3\n")),
        ("shadows the celery library", "rename"),
    ),
    BadInput(
        "broker_password_in_settings",
        "exit 2 before any write when the run cannot ask: a literal URL with a password fails item 9; "
        "--fix-url-passwords (or an answer in interactive runs) moves it to the environment; shown masked",
        project_case(set_password_literal),
        ("mysite/settings.py:125", "redis://:**@", "--fix-url-passwords"),
    ),
    BadInput(
        "broker_password_fixed_with_consent",
        "not an error with --fix-url-passwords: the run passes, the password leaves the settings (the URL is "
        "read from the environment) and appears in no file, transcript, checkpoint or output",
        project_case(set_password_literal, "--fix-url-passwords"),
        ("11/11 checklist items passed",),
        exit_code=0,
    ),
    BadInput(
        "settings_module_unknown",
        "exit 2 with --yes: nothing names the settings module; the candidates and --settings are given",
        project_case(
            lambda p: edit(
                p / "manage.py", "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')", "pass"
            )
        ),
        ("mysite.settings", "--settings"),
    ),
    BadInput(
        "settings_module_typo",
        "exit 2: manage.py names a settings module that does not exist",
        project_case(lambda p: edit(p / "manage.py", "'mysite.settings'", "'mysite.setings'")),
        ("mysite.setings",),
    ),
    BadInput(
        "settings_given_as_a_path",
        "not an error: --settings mysite/settings.py (a path, as a shell completes it) is read as the module "
        "mysite.settings; the run passes",
        flags_case("--settings", "mysite/settings.py", "--backend", "none"),
        ("11/11 checklist items passed",),
        exit_code=0,
    ),
    BadInput(
        "env_file_missing",
        "exit 2: the --env-file does not exist",
        env_file_missing,
        (".env.dev", "--env-file"),
    ),
    BadInput(
        "required_env_variable",
        "exit 2: the settings need an environment variable that is not set; named, with --env-file",
        project_case(
            lambda p: append(p / SETTINGS, '\nimport os\nSECRET_KEY = os.environ["DJANGO_SECRET_KEY"]\n')
        ),
        ("DJANGO_SECRET_KEY", "--env-file", "raised at mysite/settings.py:126"),
    ),
    BadInput(
        "non_utf8_settings",
        "exit 2 before any write: the settings file is not UTF-8 (latin-1 per its coding line); the "
        "integration would have to re-encode it, so it asks for the conversion instead",
        project_case(
            lambda p: (p / SETTINGS).write_bytes(
                b"# -*- coding: latin-1 -*-\n# R\xe9glages du projet\n" + (p / SETTINGS).read_bytes()
            )
        ),
        ("not utf-8", "iso-8859-1 per its coding line", "iconv -f iso-8859-1"),
    ),
    BadInput(
        "settings_with_bom",
        "not an error: a settings file saved with a UTF-8 byte order mark is integrated and keeps its mark",
        project_case(with_bom),
        ("11/11 checklist items passed",),
        exit_code=0,
        after=bom_kept,
    ),
    BadInput(
        "crlf_line_endings",
        "not an error: settings, package __init__ and manage.py with Windows line endings keep CRLF on "
        "every line, the added ones included",
        project_case(with_crlf),
        ("11/11 checklist items passed",),
        exit_code=0,
        after=crlf_kept,
    ),
    BadInput(
        "project_locked",
        "exit 2: another live run holds the project's lock; its run id and pid are named",
        locked_project,
        ("being integrated by run", "kill"),
    ),
    BadInput(
        "sigint_mid_run",
        "exit 130: Ctrl-C in implementation puts every file back before exiting",
        sigint_mid_run,
        ("interrupted", "put back"),
        exit_code=130,
    ),
]

CANARIES = (PASSWORD_CANARY, MODEL_KEY_CANARY)
