"""Answers of the project's interpreter, asked once per state of everything they depend on.

Each answer (discovery's probe, the migration plan) costs a new interpreter and a `django.setup()`, 0.3–0.5 s,
and a run used to ask the same question up to three times on an unchanged project. Here an answer is kept
under a key made of the question, the interpreter's installed packages, the environment the process gets,
and the content digest of the whole project tree: any change to any of them asks again. An answer is only
kept when the tree was the same before and after it was computed. A question asked while the same one is
being answered waits for that answer (`prefetch` starts one early, in a background thread).

Errors are answers too (a settings module that does not load fails the same way twice), so the caller sees
the same exception it would have got from asking itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TypeVar

from tools.django_celery.tree_digest import env_digest, packages_digest, tree_digest

T = TypeVar("T")
MAX_ANSWERS = 256

_lock = threading.Lock()
_answers: dict[str, Future] = {}


def answer_key(
    question: str, interpreter: str, root: Path, env: dict[str, str], env_files: list[str], *details: str
) -> tuple[str, str]:
    """(key, tree digest) for `question` asked of `interpreter` about the project at `root`."""
    tree = tree_digest(root)
    parts = [
        question,
        interpreter,
        str(root),
        *details,
        packages_digest(interpreter),
        env_digest(env, env_files),
        tree,
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest(), tree


def remembered(key: str, tree: str, root: Path, compute: Callable[[], T]) -> T:
    """The answer kept under `key`, else `compute()`'s (kept when the tree did not change meanwhile)."""
    with _lock:
        future = _answers.get(key)
        owner = future is None
        if owner:
            future = _answers[key] = Future()
            while len(_answers) > MAX_ANSWERS:
                _answers.pop(next(iter(_answers)))
    assert future is not None
    if not owner:
        return future.result()
    try:
        value = compute()
    except Exception as exc:
        future.set_exception(exc)
        _forget_if_changed(key, tree, root)
        raise
    except BaseException:
        with _lock:
            _answers.pop(key, None)
        future.cancel()
        raise
    future.set_result(value)
    _forget_if_changed(key, tree, root)
    return value


def _forget_if_changed(key: str, tree: str, root: Path) -> None:
    if tree_digest(root) != tree:
        with _lock:
            _answers.pop(key, None)


def prefetch(ask: Callable[[], object]) -> threading.Thread:
    """Ask in the background, so the answer is ready (or on its way) when the run asks the same question."""

    def run() -> None:
        with contextlib.suppress(Exception):  # the run asks again, and gets and reports the same error itself
            ask()

    thread = threading.Thread(target=run, name="prefetch", daemon=True)
    thread.start()
    return thread
