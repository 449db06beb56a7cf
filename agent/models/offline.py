"""The offline policy: a deterministic chat model that does what the agent definition prescribes.

It is the default when no language model is configured. In each phase it issues, batch by batch, the tool
calls the definition's directives name for that phase — its `WebFetch` documentation, `Skill(...)` and
`SlashCommand(...)` directives, with conditions evaluated against the run's decisions — plus the reads,
questions, plan and checks the phase's prose asks for, and then ends the phase with `finish_phase`.

It reads everything from the messages it is given (the phase kickoff carries the run facts as a JSON
block), exactly like a language model would, so the graph, the tools, the transcript and replay treat it
as one more chat model. Being a `BaseChatModel` with `bind_tools`, tests and evals use the same class as
users do.
"""

from __future__ import annotations

import json
import re
from typing import Any, get_args

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict

from agent.decisions import Topic, open_questions
from agent.definition_models import AgentDefinition, Directive
from agent.models.offline_chat import is_chat, offline_chat_answer

FACTS_BLOCK = re.compile(r"```json run-facts\n(.*?)\n```", re.DOTALL)
PHASE_HEADER = re.compile(r"^## Phase \d/5: (\w+)", re.MULTILINE)
FINISH_TOOL = "finish_phase"
TOPICS = frozenset(get_args(Topic))

NO_TOKENS = {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
ToolCall = dict[str, Any]
Batch = tuple[str, list[ToolCall]]  # (narration, the calls issued together in one model turn)


def condition_holds(when: str | None, decisions: dict[str, Any]) -> bool:
    """Evaluate a directive's normalised condition against the run's decisions (unknown keys: not needed)."""
    if when is None:
        return True
    if when == "results":
        return decisions.get("result_backend", "django-db") != "none"
    if when == "beat":
        return bool(decisions.get("beat"))
    if when == "transactions":
        return decisions.get("dispatch", "on_commit") == "on_commit"
    if when == "signals":
        return decisions.get("dispatch") == "signals"
    return False


def expand_arguments(command: str, arguments: str) -> str:
    return " ".join(command.replace("$ARGUMENTS", arguments).split())


def with_decided_backend(command: str, backend: str) -> str:
    """`/celery:add-backend django-db` names the definition's default; the decision made in analysis wins."""
    name, _, _rest = command.partition(" ")
    return f"{name} {backend}" if name.endswith(":add-backend") else command


class OfflinePolicy(BaseChatModel):
    """Deterministic stand-in for a language model that follows the definition's directives."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    definition: AgentDefinition
    tool_names: tuple[str, ...] = ()

    @property
    def _llm_type(self) -> str:
        return "django-integrator-offline-policy"

    def bind_tools(self, tools: Any, **kwargs: Any) -> OfflinePolicy:  # type: ignore[override]
        # a tool's own name where it has one: converting every schema on each of a run's model calls
        # cost more CPU than anything else the offline policy does
        names = tuple(
            t.name if isinstance(t, BaseTool) else convert_to_openai_tool(t)["function"]["name"]
            for t in tools
        )
        return self.model_copy(update={"tool_names": names})

    # ----- the policy ------------------------------------------------------------------------------
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if is_chat(messages):  # free text typed in `chat`: a clear answer, no tool call
            message = AIMessage(content=offline_chat_answer(messages), usage_metadata=NO_TOKENS)
            return ChatResult(generations=[ChatGeneration(message=message)])
        phase, run = read_kickoff(messages)
        step = _turns_since_last_human(messages)
        batches = self.plan(phase, run)
        if step < len(batches):
            narration, calls = batches[step]
        else:
            narration, calls = "Phase work done.", [self.finish_call(phase, run)]
        available = [c for c in calls if c["name"] in self.tool_names or not self.tool_names]
        skipped = [c["name"] for c in calls if c not in available]
        if skipped:
            narration += f" (Not available to this agent, skipped: {', '.join(sorted(set(skipped)))}.)"
        if not available:
            available = [self.finish_call(phase, run)]
        tool_calls = [
            {
                "name": c["name"],
                "args": c["args"],
                "id": f"call_{phase}_{len(messages)}_{i}",
                "type": "tool_call",
            }
            for i, c in enumerate(available)
        ]
        message = AIMessage(
            content=narration,
            tool_calls=tool_calls,
            usage_metadata=NO_TOKENS,
            response_metadata={"model_name": "offline-policy", "finish_reason": "tool_calls"},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def plan(self, phase: str, run: dict[str, Any]) -> list[Batch]:
        """The batches of tool calls for `phase`, in order (the finish call comes after the last one)."""
        decisions = run.get("decisions") or {}
        directives = self.definition.phase(phase).directives  # type: ignore[arg-type]
        docs = [
            _web_fetch(d) for d in directives if d.kind == "web_fetch" and condition_holds(d.when, decisions)
        ]
        skills = [
            {"name": "Skill", "args": {"skill": d.target}}
            for d in directives
            if d.kind == "skill" and condition_holds(d.when, decisions)
        ]
        commands = [
            self._slash(d, run, decisions)
            for d in directives
            if d.kind == "slash_command" and condition_holds(d.when, decisions)
        ]
        batches: list[Batch] = []
        if docs:
            batches.append(("Consulting the documentation this phase names.", docs))
        if skills:
            batches.append(("Loading the integration patterns skill.", skills))
        batches += self._phase_work(phase, run, decisions)
        if commands:
            batches.append(("Running the phase's slash commands.", commands))
        return batches

    def _slash(self, directive: Directive, run: dict[str, Any], decisions: dict[str, Any]) -> ToolCall:
        command = expand_arguments(directive.target, run.get("arguments", ""))
        command = with_decided_backend(command, decisions.get("result_backend", "django-db"))
        return {"name": "SlashCommand", "args": {"command": command}}

    # Phase-specific work beside the directives: reads, questions, the plan, Django's own checks.
    def _phase_work(self, phase: str, run: dict[str, Any], decisions: dict[str, Any]) -> list[Batch]:
        facts = run.get("facts") or {}
        manage = facts.get("manage_py", "manage.py")
        if phase == "discovery":
            reads = [{"name": "Read", "args": {"path": manage}}]
            reads += [{"name": "Read", "args": {"path": f}} for f in facts.get("settings_files", [])[:3]]
            reads.append({"name": "Glob", "args": {"pattern": "**/apps.py"}})
            batches: list[Batch] = [("Reading the project structure: manage.py, settings, apps.", reads)]
            return batches + self._questions(phase, facts, decisions)
        if phase == "analysis":
            return self._questions(phase, facts, decisions)
        if phase == "planning":
            todos = [{"content": item, "status": "pending"} for item in self.definition.checklist]
            return [
                (
                    "Writing the plan: one step per checklist item.",
                    [{"name": "TodoWrite", "args": {"todos": todos}}],
                )
            ]
        if phase == "verification":
            labels = ["django_celery_results"] if decisions.get("result_backend") == "django-db" else []
            labels += ["django_celery_beat"] if decisions.get("beat") else []
            calls = [{"name": "Bash", "args": {"command": f"python {manage} check"}}]
            if labels:
                calls.append(
                    {
                        "name": "Bash",
                        "args": {"command": f"python {manage} showmigrations {' '.join(labels)}"},
                    }
                )
            return [("Checking the project with Django's own commands.", calls)]
        return []

    def _questions(self, phase: str, facts: dict[str, Any], decisions: dict[str, Any]) -> list[Batch]:
        """The phase's targeted questions whose topic no flag or existing setup settled yet."""
        calls = [
            {
                "name": "AskUserQuestion",
                "args": {"question": q.text} | ({"topic": q.key} if q.key in TOPICS else {}),
            }
            for q in open_questions(self.definition, facts, decisions, phase)
        ]
        return [("Asking the targeted questions the facts cannot answer.", calls)] if calls else []

    def finish_call(self, phase: str, run: dict[str, Any]) -> ToolCall:
        """The `finish_phase` call that ends `phase`, with a summary built from the run facts."""
        facts = run.get("facts") or {}
        decisions = run.get("decisions") or {}
        apps = ", ".join(a["label"] for a in facts.get("apps", [])) or "none"
        beat = "on" if decisions.get("beat") else "off"
        summaries = {
            "discovery": f"Django {facts.get('django_version')} project '{facts.get('project_package')}', apps {apps}.",
            "analysis": f"Result backend {decisions.get('result_backend')}, beat {beat}, "
            f"dispatch {decisions.get('dispatch')}; initial setup run.",
            "planning": "Plan written: one step per checklist item.",
            "implementation": "Result backend configured; settings, celery.py, tasks and env files in place.",
            "verification": "Django's check and migrations looked at; the gate runs the live worker checks.",
        }
        return {"name": FINISH_TOOL, "args": {"summary": summaries.get(phase, "done")}}


def read_kickoff(messages: list[BaseMessage]) -> tuple[str, dict[str, Any]]:
    """The phase and run facts of the latest phase kickoff among `messages`."""
    for message in reversed(messages):
        if isinstance(message, HumanMessage) and isinstance(message.content, str):
            header = PHASE_HEADER.search(message.content)
            block = FACTS_BLOCK.search(message.content)
            if header and block:
                return header.group(1), json.loads(block.group(1))
    raise ValueError("The offline policy needs the runtime's phase kickoff message (with run facts).")


def _web_fetch(directive: Directive) -> ToolCall:
    return {"name": "WebFetch", "args": {"url": directive.target}}


def _turns_since_last_human(messages: list[BaseMessage]) -> int:
    """How many model turns this phase (or this repair attempt) has taken so far."""
    turns = 0
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            break
        if isinstance(message, AIMessage):
            turns += 1
    return turns
