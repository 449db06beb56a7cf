"""The decision framework, settled: flags first, then what the project already has, then questions or defaults.

A targeted question is answered by the user in interactive runs; non-interactive runs take the
definition's recommended option (django-celery-results, on_commit dispatch) or the runtime's documented
default where the definition recommends none (no periodic tasks; every local app gets tasks), and the
ledger records that the default was taken. Consents to change the user's own code (rewrite unsafe dispatch,
rename deprecated settings, read literal broker/backend URLs from the environment, remove passwords from
broker/backend URLs, turn a literal eager mode off) default to no, and no queues are routed unless someone
names them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from agent.config import RunOptions
from agent.definition_models import AgentDefinition, QuestionSpec
from tools.django_celery.backend_text import own_backend
from tools.django_celery.codemods.settings_chain import project_chain
from tools.django_celery.codemods.source import disk_reader
from tools.django_celery.facts import Decisions, ProjectFacts, ResultBackend
from tools.django_celery.task_modules import tasks_module_owners

Topic = Literal[
    "task_apps",
    "beat",
    "result_backend",
    "dispatch",
    "rewrite_dispatch",
    "rename_settings",
    "install_deps",
    "env_urls",
    "url_passwords",
    "eager_mode",
    "queues",
    "other",
]
# Each consent topic -> the RunOptions / Decisions field holding the consent (the flag's name, as in
# setup.CONSENTS). Decisions.sources is keyed by the topic, which is also the definition question's key.
CONSENT_FIELDS: dict[Topic, str] = {
    "rewrite_dispatch": "rewrite_dispatch",
    "rename_settings": "rename_settings",
    "install_deps": "install_deps",
    "env_urls": "env_urls",
    "url_passwords": "fix_url_passwords",
    "eager_mode": "fix_eager",
}
CONSENT_TOPICS: tuple[Topic, ...] = tuple(CONSENT_FIELDS)
# how a yes to a consent question starts ("no", "not now" and anything else: report only)
CONSENT_WORDS = (
    "y",
    "true",
    "ok",
    "sure",
    "please",
    "go ahead",
    "rewrite",
    "rename",
    "install",
    "read",
    "remove",
    "turn it off",
    "turn off",
)
TOPIC_KEYWORDS: tuple[tuple[Topic, tuple[str, ...]], ...] = (  # first match wins: the narrowest words first
    ("url_passwords", ("password",)),
    ("eager_mode", ("eager",)),
    ("install_deps", ("install",)),
    ("env_urls", ("from the environment",)),
    ("queues", ("queue", "routing", "route ")),
    ("rename_settings", ("rename", "setting name")),
    ("rewrite_dispatch", ("rewrite",)),
    ("beat", ("periodic", "beat", "schedul")),
    ("result_backend", ("result", "backend")),
    ("task_apps", ("apps", "app will", "which django app")),
    ("dispatch", ("dispatch", "on_commit", "transaction")),
)
BACKEND_WORDS: tuple[tuple[ResultBackend, tuple[str, ...]], ...] = (
    ("none", ("none", "no result", "don't store", "do not store", "ignore")),
    ("django-cache", ("cache",)),
    ("redis", ("redis", "separate")),
    ("django-db", ("django-db", "django db", "database", "orm", "django-celery-results", "yes")),
)
EXISTING_BACKENDS: dict[str, ResultBackend] = {"django-db": "django-db", "django-cache": "django-cache"}
UNSAFE_CONTEXTS = frozenset({"atomic", "save", "receiver"})
SETTLED = ("flag", "existing", "asked")  # sources of a decision no question needs to reopen


def infer_topic(question: str) -> Topic:
    text = question.lower()
    for topic, words in TOPIC_KEYWORDS:
        if any(w in text for w in words):
            return topic
    return "other"


def initial_decisions(facts: ProjectFacts, options: RunOptions) -> Decisions:
    """Decisions before any question: CLI flags, then the project's existing setup, then defaults."""
    sources: dict[str, str] = {}
    local_labels = [a.label for a in facts.apps]

    if options.apps is not None:
        unknown = sorted(set(options.apps) - set(local_labels))
        if unknown:
            raise ValueError(
                f"--apps names {', '.join(unknown)}, which are not local apps of this project "
                f"(found: {', '.join(local_labels) or 'none'}). Use the app labels."
            )
        task_apps, sources["task_apps"] = list(options.apps), "flag"
    else:
        # apps whose tasks.py is another queue's (django-q, huey, rq functions) never get Celery's
        owners = tasks_module_owners(facts)
        with_tasks = [label for label, owner in owners.items() if owner == "celery"]
        task_apps = with_tasks or [label for label in local_labels if owners.get(label) != "other"]
        sources["task_apps"] = "existing" if with_tasks else "default"

    existing_backend = _existing_backend(facts)
    if options.backend is not None:
        backend, sources["result_backend"] = options.backend, "flag"
    elif existing_backend is not None:
        backend, sources["result_backend"] = existing_backend, "existing"
    else:
        backend, sources["result_backend"] = "django-db", "default"

    has_beat = any(app.startswith("django_celery_beat") for app in facts.installed_apps)
    if options.beat is not None:
        beat, sources["beat"] = options.beat, "flag"
    elif has_beat:
        beat, sources["beat"] = True, "existing"
    else:
        beat, sources["beat"] = False, "default"

    sources["dispatch"] = "default"
    for consent, field in CONSENT_FIELDS.items():
        sources[consent] = "flag" if getattr(options, field) is not None else "default"
    sources["queues"] = "flag" if options.queues is not None else "default"
    return Decisions(
        task_apps=task_apps,
        result_backend=backend,
        beat=beat,
        dispatch="on_commit",
        broker_url=options.broker_url or os.environ.get("CELERY_BROKER_URL") or None,
        rewrite_dispatch=bool(options.rewrite_dispatch),
        rename_settings=bool(options.rename_settings),
        fix_url_passwords=bool(options.fix_url_passwords),
        fix_eager=bool(options.fix_eager),
        env_urls=bool(options.env_urls),
        install_deps=bool(options.install_deps),
        queues=[q for q in options.queues or [] if q.lower() != "none"],
        sources=sources,  # type: ignore[arg-type]
    )


def queue_specs(answer: str) -> list[str]:
    """Routing specs from a free-text answer: "no" -> [], "emails:polls, reports" -> both specs."""
    tokens = re.findall(r"[A-Za-z_][\w.-]*(?::[\w.*-]+)?", answer)
    if not tokens or tokens[0].lower() in ("no", "none", "nothing", "skip", "default"):
        return []
    return [t for t in tokens if t.lower() not in ("yes", "and", "to", "for", "queue", "queues")]


def _existing_backend(facts: ProjectFacts) -> ResultBackend | None:
    """The backend the settings already choose. A CELERY_RESULT_BACKEND of the project's own (pretalx's
    `config.get("celery", "backend")`) is "none": kept as it is, nothing of ours added for results — the
    decision /celery:setup would come to, made here so a run, the no-op check and `audit` agree on it."""
    if own_backend(project_chain(facts, disk_reader(Path(facts.root))), "none") is not None:
        return "none"
    value = facts.existing.celery_settings.get("CELERY_RESULT_BACKEND")
    if value is None:
        return None
    cleaned = value.strip("'\"")
    if cleaned in EXISTING_BACKENDS:
        return EXISTING_BACKENDS[cleaned]
    return "redis" if "redis" in cleaned else None


def default_answer(topic: Topic, facts: ProjectFacts, decisions: Decisions) -> str:
    """The recommended answer a non-interactive run takes (also shown as the default when asking)."""
    if topic == "task_apps":
        return ", ".join(decisions.task_apps) or "none"
    if topic == "beat":
        return "yes" if decisions.beat else "no"
    if topic == "result_backend":
        return decisions.result_backend
    if topic == "dispatch":
        return decisions.dispatch
    if topic in CONSENT_FIELDS:  # a change to the user's own code needs an explicit yes
        return "yes" if getattr(decisions, CONSENT_FIELDS[topic]) else "no"
    if topic == "queues":
        return ", ".join(decisions.queues) or "none"
    return "Proceed with the recommended defaults."


def apply_answer(topic: Topic, answer: str, facts: ProjectFacts, decisions: Decisions, source: str) -> str:
    """Fold an answer into `decisions`; returns how it was understood (shown back to the model)."""
    text = answer.strip().lower()
    if topic == "task_apps":
        labels = [a.label for a in facts.apps]
        chosen = [label for label in labels if re.search(rf"\b{re.escape(label.lower())}\b", text)]
        if "all" in text.split() or not chosen:
            chosen = labels if "all" in text.split() else decisions.task_apps
        decisions.task_apps = chosen
        understood = f"apps that get tasks: {', '.join(chosen) or 'none'}"
    elif topic == "beat":
        decisions.beat = text.startswith(("y", "true", "django-celery-beat", "beat")) or "need" in text
        understood = f"periodic tasks with django-celery-beat: {'yes' if decisions.beat else 'no'}"
    elif topic == "result_backend":
        decisions.result_backend = next(
            (backend for backend, words in BACKEND_WORDS if any(w in text for w in words)),
            decisions.result_backend,
        )
        understood = f"result backend: {decisions.result_backend}"
    elif topic == "dispatch":
        decisions.dispatch = (
            "immediate" if "immediate" in text else "signals" if "signal" in text else "on_commit"
        )
        understood = f"dispatch strategy: {decisions.dispatch}"
    elif topic in CONSENT_FIELDS:
        consent = text.startswith(CONSENT_WORDS)
        setattr(decisions, CONSENT_FIELDS[topic], consent)
        understood = f"{topic.replace('_', ' ')}: {'yes' if consent else 'no, report only'}"
    elif topic == "queues":  # a bare word must be an app label (its queue is named after it)
        specs = queue_specs(answer)
        decisions.queues = [s for s in specs if ":" in s or facts.app(s) is not None]
        ignored = [s for s in specs if s not in decisions.queues]
        understood = f"queues: {', '.join(decisions.queues) or 'none (no routing)'}" + (
            f"; ignored {', '.join(ignored)} (not an app label: write queue:app)" if ignored else ""
        )
    else:
        return "noted"
    decisions.sources[topic] = source  # type: ignore[index]
    return understood


def question_applies(when: str | None, facts: dict[str, Any]) -> bool:
    """Evaluate a question's condition on what discovery found (unknown conditions: not asked)."""
    existing = facts.get("existing") or {}
    if when is None:
        return True
    if when == "unsafe_dispatch":
        return any(
            UNSAFE_CONTEXTS & set(site.get("contexts", [])) and "on_commit" not in site.get("contexts", [])
            for site in existing.get("dispatch_details", [])
        )
    if when == "old_settings":
        return bool(existing.get("old_style_settings"))
    if when == "literal_urls":
        return bool(existing.get("literal_urls"))
    if when == "url_passwords":  # a broker/backend URL with a password in the settings chain
        return bool(existing.get("url_passwords"))
    if when == "eager_settings":  # a literal eager-mode True in the settings the project runs with
        return bool(existing.get("eager_settings"))
    if when == "missing_packages":  # discovery's probe found no celery or results package to import
        packages = facts.get("packages")
        return packages is not None and not (packages.get("celery") and packages.get("django_celery_results"))
    return False


def open_questions(
    definition: AgentDefinition, facts: dict[str, Any], decisions: dict[str, Any], phase: str | None = None
) -> list[QuestionSpec]:
    """The definition's targeted questions (of `phase`, else of every phase) that apply to what discovery
    found and whose topic no flag, existing setup or earlier answer settled: what an interactive run asks."""
    sources = decisions.get("sources", {})
    return [
        q
        for q in definition.questions
        if (phase is None or q.phase == phase)
        and question_applies(q.when, facts)
        and sources.get(q.key) not in SETTLED
    ]
