"""LLM-style scenarios: what a real model and a real endpoint do that the offline policy never does.

Each scenario is a hook for the scripted OpenAI server (`agent.models.scripted`): it follows the
definition like the offline policy, except at the turn where it misbehaves — or where the endpoint does.
`eval record --scenario NAME` runs it through the real `ChatOpenAI` and the recording transport and writes
`evals/transcripts/llm/NAME.jsonl` with the expected outcome in its header; tests replay every one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from agent.config import Budgets
from agent.models.scripted import Completion, Hook, HttpFailure, NetworkFailure, Reply, Turn


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    hook: Hook
    expect: dict[str, Any]  # status, failed_items, phrases (in the report or a tool result), exists, …
    case: str = "startproject"
    args: tuple[str, ...] = ()
    interactive: bool = False
    answers: tuple[str, ...] = ()
    max_retries: int = 2
    budgets: Budgets | None = None  # tighter limits than a run's defaults


def _planned_first(turn: Turn) -> str:
    return turn.planned[1][0]["name"] if turn.planned[1] else ""


PLAN_DONE = "The plan is written: one step per checklist item."


def _targeted_question(turn: Turn) -> Reply | None:
    """Flags settle the apps and the backend; the model asks only about beat, offering the choices.

    It also ends planning by answering without a tool call, which ends a phase as well as finish_phase.
    """
    if turn.phase == "planning" and _planned_first(turn) == "finish_phase":
        return Completion(PLAN_DONE)
    if turn.phase == "discovery" and _planned_first(turn) == "AskUserQuestion":
        args = {
            "question": "Will you run periodic jobs on a schedule with django-celery-beat?",
            "options": ["no", "yes"],
            "topic": "beat",
        }
        return Completion("One thing the project cannot tell me:", [("AskUserQuestion", json.dumps(args))])
    return None


def _bad_replies(turn: Turn) -> Reply | None:
    """Replies a runtime must survive, one per phase turn: each error goes back to the model, which
    then does what it should have done (the definition's next step)."""
    reads = turn.phase == "discovery" and _planned_first(turn) == "Read"
    if reads and turn.slips == 0:
        return Completion("Reading manage.py first.", [("Read", '{"path": "manage.py"')])  # not JSON
    if reads and turn.slips == 1:
        return Completion("Listing the project first.", [("ListDirectory", '{"path": "."}')])  # no such tool
    if turn.phase == "planning" and turn.step == 0 and turn.slips == 0:
        name, arguments = turn.planned[1][0]["name"], json.dumps(turn.planned[1][0]["args"])
        return Completion("Writing the plan.", [(name, arguments[: len(arguments) // 3])], "length")
    if turn.phase == "implementation" and turn.step == 0 and turn.slips == 0:
        command = {"command": "rm -rf polls/migrations && python manage.py makemigrations polls"}
        return Completion("Recreating the polls migrations from scratch.", [("Bash", json.dumps(command))])
    if turn.phase == "verification" and turn.step == 0 and turn.slips == 0:
        return Completion(
            "Before the live checks I will look at the project with Django's own comm", [], "length"
        )
    return None


UNSAFE_SERVICE = '''"""Publishing questions."""

from django.db import transaction
from django.utils import timezone

from .models import Question
from .tasks import process_question


def publish_question(text):
    """Create a Question and process it in the background."""
    with transaction.atomic():
        question = Question.objects.create(question_text=text, pub_date=timezone.now())
        process_question.delay(question.pk)
    return question
'''
UNSAFE_SITE = re.compile(r"(\S+\.py):(\d+): (\S+)\.delay inside transaction\.atomic\(\)")
NUMBERED_LINE = re.compile(r"^\s*(\d+)\t(.*)$")


def _gate_repair(turn: Turn) -> Reply | None:
    """Writes a service that dispatches inside atomic(); after the gate's evidence, reads and fixes it."""
    if turn.phase != "implementation":
        return None
    site = UNSAFE_SITE.search(turn.boundary)
    if site is None:
        written = any(c["name"] == "Write" for c in turn.calls_made)
        if turn.planned[1][0]["name"] == "finish_phase" and not written:
            args = {"path": "polls/services.py", "content": UNSAFE_SERVICE}
            return Completion("Adding a service that publishes questions.", [("Write", json.dumps(args))])
        return None
    path, line = site.group(1), int(site.group(2))
    listing = turn.result_of("Read", path=path)
    if listing is None:
        return Completion(
            f"The gate says {path}:{line} dispatches too early.", [("Read", json.dumps({"path": path}))]
        )
    if not any(c["name"] == "Edit" for c in turn.calls_made):
        numbered = dict(m.groups() for m in map(NUMBERED_LINE.match, listing.splitlines()) if m)
        old = numbered[str(line)]
        edit = {"path": path, "old_string": old, "new_string": old.replace(".delay(", ".delay_on_commit(")}
        return Completion("Deferring the dispatch until the commit.", [("Edit", json.dumps(edit))])
    summary = {"summary": f"{path} now dispatches with delay_on_commit, after the transaction commits."}
    return Completion("Fixed.", [("finish_phase", json.dumps(summary))])


RATE_LIMIT = {
    "error": {
        "message": "Rate limit reached for requests per minute. Please try again in 20ms.",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
}
SERVER_ERROR = {
    "error": {
        "message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error",
        "param": None,
        "code": None,
    }
}


def _flaky_endpoint(turn: Turn) -> Reply | None:
    """A 429 with Retry-After on the very first call; a read timeout on the first planning call."""
    if turn.call == 0 and turn.attempt == 1:
        return HttpFailure(429, RATE_LIMIT, {"retry-after-ms": "20", "retry-after": "1"})
    if turn.phase == "planning" and turn.step == 0 and turn.attempt == 1:
        return NetworkFailure("ReadTimeout", "The read operation timed out")
    return None


def _server_error(turn: Turn) -> Reply | None:
    """After /celery:setup has changed the project, the endpoint fails for good."""
    if turn.phase == "analysis" and turn.planned[1][0]["name"] == "finish_phase":
        return HttpFailure(500, SERVER_ERROR)
    return None


PASSED = {"status": "passed", "failed_items": []}
SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario(
            "targeted-question",
            "The model asks one targeted question with options; the user's answer (no periodic tasks) is "
            "recorded as asked. It ends planning with a plain answer instead of finish_phase.",
            _targeted_question,
            PASSED | {"phrases": ["The user answered: 'no'"]},
            args=("--apps", "polls", "--backend", "django-db"),
            interactive=True,
            answers=("no",),
        ),
        Scenario(
            "bad-replies",
            "Tool-call arguments that are not JSON, an unknown tool, a tool call cut off by the token limit, "
            "`rm -rf` refused by the definition's deny rules (never run), prose cut off by the token limit: "
            "each comes back to the model, which corrects itself; the run passes.",
            _bad_replies,
            PASSED
            | {
                "phrases": [
                    "are not valid JSON",
                    "there is no tool named 'ListDirectory'",
                    "cut off by the token limit before the arguments of 'TodoWrite'",
                    "Refused by the agent's permissions",
                ],
                "exists": ["polls/migrations/0001_initial.py"],
            },
        ),
        Scenario(
            "gate-repair",
            "The model dispatches inside transaction.atomic(); gate #6 fails with evidence; the model edits.",
            _gate_repair,
            PASSED | {"phrases": ["delay_on_commit"], "failed_gates": {"implementation": ["on_commit"]}},
            args=("--rewrite-dispatch",),  # consent: unsafe dispatch sites fail item 6 instead of a report
        ),
        Scenario(
            "flaky-endpoint",
            "HTTP 429 with Retry-After on the first call, a read timeout (httpx.ReadTimeout) in planning: the "
            "client waits, retries, and the run passes.",
            _flaky_endpoint,
            PASSED,
        ),
        Scenario(
            "server-error",
            "HTTP 500 on every attempt once /celery:setup has run: retries exhausted, the run stops and the "
            "project is put back.",
            _server_error,
            {
                "status": "error",
                "phrases": [
                    "The model endpoint failed",
                    "Error code: 500",
                    "InternalServerError",
                    "OPENAI_BASE_URL",
                ],
                "rolled_back": True,
            },
            max_retries=1,
        ),
    ]
}
