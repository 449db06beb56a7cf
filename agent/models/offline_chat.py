"""The offline policy's side of the chat: a clear answer to free text when no language model is configured.

It cannot understand free text, and says so — then points at the command that does what the words seem
to ask for (by keywords), or at what makes sense in the conversation's current state (no run yet, a run
paused, a run finished), and at how to configure a model. It reads the state from the chat's system
message (a `chat-facts` JSON block), as a language model would read it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

CHAT_MARKER = "You are the chat of django-integrator"
CHAT_FACTS = re.compile(r"```json chat-facts\n(.*?)\n```", re.DOTALL)
# (words in the user's text, the suggestion), first match wins.
INTENTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("undo", "revert", "roll back", "rollback", "restore"),
        "/undo puts the project back exactly as it was.",
    ),
    (("diff", "changed", "changes", "what did"), "/diff shows what the run changed."),
    (
        ("backend", "redis", "result"),
        "/celery:add-backend django-db|redis|django-cache|none switches the result backend.",
    ),
    (("plan", "todo", "steps"), "/plan shows the run's plan."),
    (("status", "progress", "phase", "where"), "/status shows the phase and the checklist so far."),
    (("report", "checklist", "passed", "failed"), "/report shows the last run's checklist."),
    (
        ("integrate", "setup", "set up", "install", "add celery", "start", "begin", "go"),
        "/celery:setup integrates Celery (add --beat, --backend redis or --apps a,b as you need).",
    ),
)
MODEL_HINT = (
    "For a model, set OPENAI_API_KEY (or OPENAI_BASE_URL for a local server such as Ollama) and "
    "DJANGO_INTEGRATOR_MODEL, then type /model <id>."
)


def is_chat(messages: list[BaseMessage]) -> bool:
    first = messages[0] if messages else None
    return isinstance(first, SystemMessage) and str(first.content).startswith(CHAT_MARKER)


def chat_facts(messages: list[BaseMessage]) -> dict[str, Any]:
    match = CHAT_FACTS.search(str(messages[0].content)) if messages else None
    return json.loads(match.group(1)) if match else {}


def offline_chat_answer(messages: list[BaseMessage]) -> str:
    said = next((str(m.content) for m in reversed(messages) if isinstance(m, HumanMessage)), "").lower()
    suggestion = next((hint for words, hint in INTENTS if any(w in said for w in words)), None)
    if suggestion is None:
        suggestion = _by_state(chat_facts(messages))
    return (
        "No language model is configured, so I cannot follow free text: the offline policy only runs the "
        f"integration its definition prescribes. {suggestion} /help lists every command. {MODEL_HINT}"
    )


def _by_state(facts: dict[str, Any]) -> str:
    run = facts.get("run") or {}
    if run.get("state") == "paused":
        return "A run is paused: /continue picks it up, /undo drops it."
    if run.get("state") == "finished":
        return "The run has finished: /report shows its checklist, /diff its changes, /undo reverts them."
    return "/celery:setup starts the integration."
