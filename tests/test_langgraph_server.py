"""`langgraph dev` serves langgraph.json: Studio's input form has a schema, and a run driven through
`langgraph_sdk` integrates a real project, streams its progress, asks its questions as interrupts and
leaves the report in the thread state."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_sync_client

pytestmark = pytest.mark.live

REPO = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 60


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`langgraph dev` on a free loopback port (no browser, no reload), stopped with its process group."""
    port = free_loopback_port()
    log = tmp_path / "langgraph-dev.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "langgraph"),
                "dev",
                *("--config", str(REPO / "langgraph.json")),
                *("--host", "127.0.0.1", "--port", str(port)),
                "--no-browser",
                "--no-reload",
            ],
            cwd=tmp_path,  # the server keeps its threads in ./.langgraph_api: this test's, not the checkout's
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "LANGSMITH_TRACING": "false"},  # DJANGO_INTEGRATOR_HOME: this test's tmp
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            assert process.poll() is None, f"langgraph dev exited {process.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, (
                f"langgraph dev not ready in {STARTUP_TIMEOUT_S} s:\n{log.read_text()}"
            )
            try:
                if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_langgraph_dev_runs_the_graph_on_a_project_and_keeps_the_report(
    server: str, startproject: Path
) -> None:
    client = get_sync_client(url=server)
    (assistant,) = client.assistants.search(graph_id="django-integrator")
    schemas = client.assistants.get_schemas(assistant["assistant_id"])
    assert set(schemas["input_schema"]["properties"]) == {"project", "options", "messages"}
    assert set(schemas["output_schema"]["properties"]) == {"messages", "run_id", "status", "report"}
    assert "backend" in schemas["input_schema"]["$defs"]["RunSettings"]["properties"]

    thread = client.threads.create()
    request = {
        "messages": [{"role": "user", "content": f"Integrate Celery into {startproject}"}],
        "options": {"interactive": True, "allow_network": False, "model": "offline"},
    }
    progress = []  # the custom stream Studio shows while the run works

    def run(**payload: object) -> None:
        for part in client.runs.stream(
            thread["thread_id"], assistant["assistant_id"], stream_mode="custom", **payload
        ):
            if part.event == "custom":
                progress.append(part.data)

    run(input=request)
    questions = []
    for answer in ["", "yes", "", ""]:  # apps: default; periodic tasks: yes; backend, queues: default
        state = client.threads.get_state(thread["thread_id"])
        if not state["interrupts"]:
            break
        questions.append(state["interrupts"][0]["value"])
        run(command={"resume": answer})

    values = client.threads.get_state(thread["thread_id"])["values"]
    assert [q["topic"] for q in questions] == ["task_apps", "beat", "result_backend", "queues"]
    report = values["report"]
    assert values["status"] == report["status"] == "passed", report["error"]
    assert sum(item["passed"] for item in report["checklist"]) == 11
    assert report["decisions"]["beat"] is True
    assert [m["type"] for m in values["messages"]] == ["human", "ai"]
    assert values["messages"][-1]["content"].startswith(
        f"Celery integration of {startproject}: passed, 11/11"
    )
    assert Path(report["transcript"]).is_file()
    phases = ["discovery", "analysis", "planning", "implementation", "verification"]
    assert [(e["event"], e["phase"]) for e in progress] == [(e, p) for p in phases for e in ("phase", "gate")]
    assert all(e["passed"] and not e["failed"] for e in progress if e["event"] == "gate")
    assert (startproject / "mysite" / "celery.py").is_file()
