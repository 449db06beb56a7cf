"""Run a case once and keep its transcript: with the offline policy, a configured model, or a scenario.

All three drive the same `Runner` the CLI uses. A configured model and a scenario both go through the
real `ChatOpenAI` with the recording transport; a scenario's "server" is the scripted one, so its
transcripts can be made on a machine with no model at all (`eval record --scenario NAME`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel

from agent.config import OFFLINE, ModelSettings, RunOptions
from agent.definition import load_definition
from agent.evals.cases import Case, build_fixture, load_case
from agent.evals.compact import compact_transcript
from agent.evals.scenarios import Scenario
from agent.models import choose_model
from agent.models.openai import make_chat_openai
from agent.models.scripted import ScriptedServer, ScriptedTransport
from agent.plugins import definition_file
from agent.report import RunReport
from agent.resources import EVALS_DIR
from agent.runner import Runner, new_run_id
from agent.session import run_dir
from agent.transcript import TranscriptWriter, read_transcript

TRANSCRIPTS_DIR = EVALS_DIR / "transcripts"
SCRIPTED_MODEL = "scripted-model"
SCRIPTED_URL = "http://scripted.invalid/v1"  # never resolved: the scripted transport answers instead


@dataclass
class RunRecord:
    report: RunReport
    transcript: Path  # the run's full transcript, in its state folder
    home: Path

    def events(self) -> list[dict[str, Any]]:
        return list(read_transcript(self.transcript))

    def compact(self, **header_extra: Any) -> list[dict[str, Any]]:
        return compact_transcript(self.events(), home=self.home, **header_extra)


def drive(
    options: RunOptions,
    home: Path,
    run_id: str,
    model: BaseChatModel | None = None,
    model_label: str | None = None,
    answers: Iterable[str] = (),
) -> RunRecord:
    """One run to its report; questions get `answers` in order, then their recommended defaults."""
    runner = Runner(options, model=model, model_label=model_label, run_id=run_id, home=home)
    pending = list(answers)
    try:
        outcome = runner.start()
        while outcome.question is not None:
            outcome = runner.answer(pending.pop(0) if pending else outcome.question["default"])
    finally:
        runner.close()
    assert outcome.report is not None
    return RunRecord(outcome.report, run_dir(run_id, home) / "transcript.jsonl", home)


def run_case(
    case: Case, project: Path, home: Path, broker: str | None = None, model: str | None = None
) -> RunRecord:
    """One run of a case's fixture: the offline policy unless `model` names one (recorded at the wire)."""
    options = case.options(project, broker)
    options.model = model or OFFLINE
    run_id = new_run_id()
    transcript = TranscriptWriter(run_dir(run_id, home) / "transcript.jsonl")
    definition = load_definition(definition_file(options), project_root=project)
    chat_model, label = choose_model(definition, options, transcript=transcript)
    return drive(options, home, run_id, chat_model, label)


def record_scenario(scenario: Scenario, workdir: Path, settings: ModelSettings | None = None) -> RunRecord:
    """Run a scenario against the scripted server through the real ChatOpenAI, recording the wire.

    The API key comes from the environment like a real run's (tests set a throwaway one and check that
    it never reaches the transcript); the endpoint is the scripted server.
    """
    case = load_case(scenario.case)
    project = build_fixture(case, workdir / "project")
    home = workdir / "state"
    options = case.options(project, extra_args=list(scenario.args), interactive=scenario.interactive)
    options.budgets = scenario.budgets or options.budgets
    run_id = new_run_id()
    transcript = TranscriptWriter(run_dir(run_id, home) / "transcript.jsonl")
    settings = (settings or ModelSettings.from_env()).model_copy(
        update={"base_url": SCRIPTED_URL, "max_retries": scenario.max_retries, "timeout": 30.0}
    )
    definition = load_definition(definition_file(options), project_root=project)
    server = ScriptedServer(definition, scenario.hook, SCRIPTED_MODEL)
    model = make_chat_openai(SCRIPTED_MODEL, settings, ScriptedTransport(server), transcript)
    label = f"{SCRIPTED_MODEL} (scripted OpenAI server, scenario {scenario.name})"
    return drive(options, home, run_id, model, label, scenario.answers)


def scenario_header(scenario: Scenario) -> dict[str, Any]:
    return {
        "case": {"name": scenario.case},
        "scenario": {"name": scenario.name, "description": scenario.description},
        "expect": scenario.expect,
    }


def case_header(case: Case, broker: str | None) -> dict[str, Any]:
    expect = {"status": case.expect.status, "failed_items": sorted(case.expect.failed_items)}
    return {"case": {"name": case.name, "broker": broker}, "expect": expect}
