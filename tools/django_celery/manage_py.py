"""Is this manage.py startproject's, one that does nothing but name the settings and hand over to Django?

A project session runs `manage.py <command>` in a fork of a process where Django is already set up, without
executing manage.py itself. That is the same as `python manage.py <command>` only when manage.py does
nothing else: a manage.py that loads a .env, puts a folder on sys.path or sets other variables before
Django starts could change what the command sees, so its commands keep running as subprocesses. The check
reads the file's syntax tree and accepts only the statements of the startproject templates (old and new).
"""

from __future__ import annotations

import ast
from pathlib import Path

from tools.django_celery.tree_digest import file_hash

_MODULES = frozenset({"os", "sys", "__future__", "django", "django.core.management"})
_known: dict[tuple[str, str], str | None] = {}


def startproject_settings(manage_py: Path) -> str | None:
    """The settings module a startproject-shaped manage.py sets by default ("" when it sets none), or None
    when the file does anything else (or cannot be read)."""
    try:
        key = (str(manage_py), file_hash(manage_py))
    except OSError:
        return None
    if key not in _known:
        try:
            tree = ast.parse(manage_py.read_bytes())
        except (OSError, SyntaxError, ValueError):
            _known[key] = None
        else:
            settings: list[str] = []
            plain = _all_plain(tree.body, settings) and len(settings) <= 1
            _known[key] = (settings[0] if settings else "") if plain else None
    return _known[key]


def _plain(statement: ast.stmt, settings: list[str], in_handler: bool = False) -> bool:
    """True for a statement of the startproject templates; collects the settings module it defaults to.
    A `raise` is only theirs inside `except ImportError:` (the "Couldn't import Django" message)."""
    if isinstance(statement, ast.Import):
        return all(alias.name in _MODULES for alias in statement.names)
    if isinstance(statement, ast.ImportFrom):
        return statement.module in _MODULES
    if isinstance(statement, ast.Expr):
        return _plain_expression(statement.value, settings)
    if isinstance(statement, ast.FunctionDef):
        return statement.name == "main" and not statement.args.args and _all_plain(statement.body, settings)
    if isinstance(statement, ast.If):
        return (
            _is_main_guard(statement.test) and not statement.orelse and _all_plain(statement.body, settings)
        )
    if isinstance(statement, ast.Try):
        handlers_ok = all(
            isinstance(h.type, ast.Name)
            and h.type.id == "ImportError"
            and all(_plain(s, settings, in_handler=True) for s in h.body)
            for h in statement.handlers
        )
        return (
            handlers_ok
            and not statement.finalbody
            and _all_plain(statement.body + statement.orelse, settings)
        )
    return in_handler and isinstance(statement, ast.Raise)


def _all_plain(statements: list[ast.stmt], settings: list[str]) -> bool:
    return all(_plain(statement, settings) for statement in statements)


def _plain_expression(value: ast.expr, settings: list[str]) -> bool:
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return True  # a docstring
    if not isinstance(value, ast.Call):
        return False
    called = ast.unparse(value.func)
    arguments = [ast.unparse(argument) for argument in value.args]
    if value.keywords:
        return False
    if called == "main" or called == "execute_from_command_line":
        return arguments == ([] if called == "main" else ["sys.argv"])
    if called == "os.environ.setdefault" and len(value.args) == 2:
        name, module = value.args
        if _string(name) == "DJANGO_SETTINGS_MODULE" and _string(module) is not None:
            settings.append(_string(module) or "")
            return True
    return False


def _string(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _is_main_guard(test: ast.expr) -> bool:
    return ast.unparse(test).replace("'", '"') == '__name__ == "__main__"'
