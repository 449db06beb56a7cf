"""Does a plan cover the checklist of the agent that wrote it?

The planning gate checks the plan against the selected agent's own self-verification checklist. Our
eleven Django items (with their keywords) are demanded only of a Django-Celery integrator's definition —
ours or the seed, recognised by a checklist that names every one of the eleven; a plugin's other agents
(a backend specialist, a worker architect) are held to the checklist they wrote, matched by its words.
"""

from __future__ import annotations

import re

from agent.checklist import CHECKLIST, ChecklistItem

_WORD = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)*")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "no",
        "not",
        "of",
        "on",
        "or",
        "the",
        "to",
        "use",
        "used",
        "uses",
        "using",
        "with",
        "all",
        "any",
        "every",
        "each",
        "was",
        "were",
        "has",
        "have",
        "been",
        "before",
        "after",
        "correctly",
        "successfully",
        "properly",
    ]
)


def is_django_checklist(items: list[str]) -> bool:
    """True when the definition's own checklist names each of our eleven items (ours and the seed's do)."""
    lowered = [i.lower() for i in items]
    return all(any(k in text for text in lowered for k in item.keywords) for item in CHECKLIST)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1}


def step_covers(step: str, item: str) -> bool:
    """A step covers an item that it quotes, or with which it shares two significant words (one, for an
    item of a single significant word)."""
    if item.lower() in step.lower():
        return True
    wanted = words(item)
    return bool(wanted) and len(wanted & words(step)) >= min(2, len(wanted))


def uncovered_items(steps: list[str], checklist: list[str]) -> list[str]:
    """The items no plan step covers, each as "#n text": our eleven by their keywords for a Django
    integrator's checklist (or a definition without one), else the definition's own items by their words."""
    if not checklist or is_django_checklist(checklist):
        return [f"#{i.number} {i.title}" for i in CHECKLIST if not _covered(i, steps)]
    return [
        f"#{n} {item}"
        for n, item in enumerate(checklist, 1)
        if not any(step_covers(step, item) for step in steps)
    ]


def _covered(item: ChecklistItem, steps: list[str]) -> bool:
    return any(k in step.lower() for step in steps for k in item.keywords)
