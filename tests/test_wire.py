"""The model wire: the real ChatOpenAI recorded and replayed through httpx transports.

The server side is httpx's own MockTransport (a function request -> response, standing in for OpenAI),
or the scripted OpenAI server; the client side is always the real ChatOpenAI from `make_chat_openai`.
"""

from __future__ import annotations

import gzip
import json
import re
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import openai
import pytest
from langchain_core.messages import HumanMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_openai import ChatOpenAI

from agent.config import Budgets, ModelSettings, RunOptions
from agent.definition import load_definition
from agent.evals.recording import record_scenario
from agent.evals.scenarios import Scenario
from agent.executor import runtime_tools
from agent.models import ModelConfigError, choose_model
from agent.models.offline import OfflinePolicy
from agent.models.openai import make_chat_openai
from agent.models.scripted import protocol_problem
from agent.models.wire import ReplayExhausted, ReplayTransport, recorded_exchanges
from agent.resources import DEFAULT_DEFINITION, PROMPTS_DIR, SKILLS_DIR
from agent.transcript import TranscriptWriter, read_transcript
from tools.commands import CommandLibrary
from tools.context import Ledger, ToolContext
from tools.journal import Journal
from tools.registry import build_tools
from tools.skills import SkillLibrary


def completion(content: str = "hello", prompt: int = 11, output: int = 3, finish: str = "stop") -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-test",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}
        ],
        "usage": {"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output},
    }


def fake_key() -> str:
    return f"sk-test-{secrets.token_hex(12)}"


def settings(key: str = "sk-test-placeholder-key", retries: int = 2) -> ModelSettings:
    return ModelSettings(api_key=key, base_url="http://model.test/v1", max_retries=retries, timeout=5.0)


def test_recording_keeps_the_exchange_and_no_header(tmp_path: Path) -> None:
    key = fake_key()
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        headers = {"openai-organization": "org-private", "x-request-id": "req_1", "retry-after-ms": "5"}
        return httpx.Response(200, json=completion(), headers=headers)

    writer = TranscriptWriter(tmp_path / "t.jsonl", secrets={})  # no redaction: headers must not get there
    model = make_chat_openai("gpt-test", settings(key), httpx.MockTransport(server), writer)
    reply = model.invoke([HumanMessage(content="Say hello.")])

    assert reply.content == "hello"
    assert reply.usage_metadata["input_tokens"] == 11 and reply.usage_metadata["output_tokens"] == 3
    assert seen[0].headers["authorization"] == f"Bearer {key}"  # the key did go over the wire
    text = (tmp_path / "t.jsonl").read_text()
    assert key not in text and "org-private" not in text and "req_1" not in text
    events = list(read_transcript(tmp_path / "t.jsonl"))
    client, exchange = events[0], recorded_exchanges(events)[0]
    assert client["type"] == "model_client" and client["model"] == "gpt-test" and client["max_retries"] == 2
    assert exchange["request"]["method"] == "POST"
    assert exchange["request"]["path"] == "/v1/chat/completions"
    assert exchange["request"]["json"]["messages"] == [{"role": "user", "content": "Say hello."}]
    assert exchange["response"]["status"] == 200
    assert exchange["response"]["json"]["usage"]["prompt_tokens"] == 11
    assert exchange["response"]["headers"] == {"content-type": "application/json", "retry-after-ms": "5"}


class GzipCompletions(BaseHTTPRequestHandler):
    """A real HTTP endpoint answering chat completions gzip-encoded, as servers behind proxies often do."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = gzip.compress(json.dumps(completion("over a socket", prompt=7, output=2)).encode())
        self.send_response(200)
        for name, value in [("Content-Type", "application/json"), ("Content-Encoding", "gzip")]:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def http_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), GzipCompletions)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_recording_over_the_network_keeps_the_decoded_body(tmp_path: Path, http_endpoint: str) -> None:
    writer = TranscriptWriter(tmp_path / "t.jsonl", secrets={})
    model_settings = settings().model_copy(update={"base_url": http_endpoint})
    reply = make_chat_openai("gpt-test", model_settings, transcript=writer).invoke("hi")  # httpx's transport
    assert reply.content == "over a socket" and reply.usage_metadata["total_tokens"] == 9
    exchange = recorded_exchanges(list(read_transcript(tmp_path / "t.jsonl")))[0]
    assert exchange["response"]["json"]["usage"]["prompt_tokens"] == 7


def test_secret_environment_values_are_redacted_from_bodies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = fake_key()
    monkeypatch.setenv("OPENAI_API_KEY", key)
    server = httpx.MockTransport(lambda request: httpx.Response(200, json=completion(f"echo {key}")))
    writer = TranscriptWriter(tmp_path / "t.jsonl")
    make_chat_openai("gpt-test", settings(key), server, writer).invoke(
        [HumanMessage(content=f"my key {key}")]
    )
    text = (tmp_path / "t.jsonl").read_text()
    assert key not in text
    assert text.count("[redacted:OPENAI_API_KEY]") == 2  # in the request body and in the response body


def test_replay_retries_a_recorded_429_and_timeout_then_serves_the_reply() -> None:
    exchanges = [
        {"error": {"type": "ReadTimeout", "message": "The read operation timed out"}},  # backoff: 0.5 s
        {
            "response": {
                "status": 429,
                "headers": {"retry-after-ms": "1"},
                "json": {"error": {"message": "slow"}},
            }
        },
        {"response": {"status": 200, "headers": {}, "json": completion("after retries", finish="length")}},
    ]
    transport = ReplayTransport(exchanges)
    reply = make_chat_openai("gpt-test", settings(), transport).invoke([HumanMessage(content="hi")])
    assert reply.content == "after retries"
    assert reply.response_metadata["finish_reason"] == "length"
    assert transport.served == 3 and transport.overrun == 0


def test_replay_raises_recorded_errors_and_says_when_it_runs_out() -> None:
    timeout = [{"error": {"type": "ReadTimeout", "message": "The read operation timed out"}}]
    with pytest.raises(openai.APITimeoutError):
        make_chat_openai("gpt-test", settings(retries=0), ReplayTransport(timeout)).invoke("hi")
    failure = {"status": 500, "headers": {}, "json": {"error": {"message": "The server had an error"}}}
    with pytest.raises(Exception, match="Error code: 500"):
        make_chat_openai(
            "gpt-test", settings(retries=1), ReplayTransport([{"response": failure}] * 2)
        ).invoke("hi")
    empty = ReplayTransport([])
    with pytest.raises(ReplayExhausted, match="recorded only 0 exchanges"):
        make_chat_openai("gpt-test", settings(), empty).invoke("hi")
    assert empty.overrun == 1  # not retried: the client does not treat it as a network error


def test_bound_tools_reach_the_wire_as_valid_function_schemas(tmp_path: Path) -> None:
    journal = Journal.start(tmp_path, "run-1", home=tmp_path / "state")
    ctx = ToolContext(project_root=tmp_path, journal=journal, ledger=Ledger(), cache_dir=tmp_path / "cache")
    library = SkillLibrary.discover(SKILLS_DIR)
    tools = [*build_tools(ctx, library, CommandLibrary.discover(PROMPTS_DIR / "commands")).values()]
    tools += runtime_tools()
    bodies: list[dict] = []

    def server(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=completion())

    model = make_chat_openai("gpt-test", settings(), httpx.MockTransport(server))
    model.bind_tools(tools).invoke("hi")
    sent = bodies[0]["tools"]
    assert [t["function"]["name"] for t in sent] == [
        convert_to_openai_tool(t)["function"]["name"] for t in tools
    ]
    for tool in sent:
        function = tool["function"]
        assert tool["type"] == "function"
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", function["name"])
        assert function["description"].strip()
        assert function["parameters"]["type"] == "object"
        assert set(function["parameters"].get("required", [])) <= set(function["parameters"]["properties"])
    assert "stream" not in bodies[0] or bodies[0]["stream"] is False  # invoke: one JSON body, usage in it


def test_scripted_server_rejects_a_tool_call_left_without_its_tool_message() -> None:
    """Like OpenAI (HTTP 400): the runtime must answer every tool_call id, a malformed call's included."""
    calls = [
        {"id": i, "type": "function", "function": {"name": "Read", "arguments": "{"}} for i in ("a", "b")
    ]
    conversation = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": "a", "content": "Error: not valid JSON"},
    ]
    problem = protocol_problem({"messages": [*conversation, {"role": "user", "content": "continue"}]})
    assert problem is not None and problem.endswith("did not have response messages: b")
    answered = [*conversation, {"role": "tool", "tool_call_id": "b", "content": "Error: not valid JSON"}]
    assert protocol_problem({"messages": [*answered, {"role": "user", "content": "continue"}]}) is None


@pytest.mark.live
def test_a_recorded_run_never_contains_the_api_key_and_stops_at_its_token_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = fake_key()
    monkeypatch.setenv("OPENAI_API_KEY", key)
    scenario = Scenario(
        "over-budget",
        "no fault; a token budget the scripted model's usage exceeds",
        None,
        {},
        budgets=Budgets(max_tokens=30_000),
    )
    record = record_scenario(scenario, tmp_path)

    exchanges = recorded_exchanges(record.events())
    spent = sum(e["response"]["json"]["usage"]["total_tokens"] for e in exchanges)
    assert record.report.status == "budget_exceeded" and record.report.rolled_back
    assert record.report.error == f"Budget exceeded: {spent} tokens (limit 30000)."  # usage_metadata summed
    assert record.report.usage["model_calls"] == len(exchanges) >= 2
    assert key not in record.transcript.read_text()
    assert key not in json.dumps(record.compact())
    for path in (tmp_path / "state").rglob("*"):
        if path.is_file() and path.suffix in (".jsonl", ".json"):
            assert key not in path.read_text(errors="replace"), path


def test_frontmatter_model_aliases_map_to_configured_model_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    definition = load_definition(DEFAULT_DEFINITION).model_copy(update={"model": "haiku"})
    options = RunOptions(project=str(tmp_path))
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "DJANGO_INTEGRATOR_MODEL",
        "DJANGO_INTEGRATOR_MODEL_HAIKU",
    ):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text(
        "OPENAI_BASE_URL=http://localhost:11434/v1\nDJANGO_INTEGRATOR_MAX_RETRIES=5\n"
    )
    monkeypatch.setenv("DJANGO_INTEGRATOR_MODEL_HAIKU", "llama3.2")
    configured = ModelSettings.from_env(tmp_path / ".env")
    model, label = choose_model(definition, options, configured)
    assert isinstance(model, ChatOpenAI) and model.model_name == "llama3.2" and model.max_retries == 5
    assert label == "llama3.2 via http://localhost:11434/v1"
    assert model.stream_usage is True and model.use_responses_api is False

    unmapped = configured.model_copy(update={"aliases": {}})
    with pytest.raises(ModelConfigError, match="DJANGO_INTEGRATOR_MODEL_HAIKU"):
        choose_model(definition, options, unmapped)
    offline, _ = choose_model(definition, options, ModelSettings())  # no key, no server: the offline policy
    assert isinstance(offline, OfflinePolicy)
