"""The public input: the project named by `project` or found in the conversation, options validated."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from agent.request import RequestError, project_from_messages, run_options


def test_the_newest_existing_folder_named_in_the_conversation_is_the_project(tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    messages = [
        HumanMessage(f"Earlier we talked about {old}."),
        AIMessage("Which project?"),
        HumanMessage(f"This one: {tmp_path}/missing, no wait: `{old}/`. Logs in /nonexistent/logs."),
    ]
    assert project_from_messages(messages) == str(old)
    assert project_from_messages([HumanMessage("no path here, nor in ~user or ./relative")]) is None


def test_options_go_over_the_embedding_defaults_and_bad_ones_are_named(tmp_path: Path) -> None:
    options = run_options(
        {"project": str(tmp_path), "options": {"beat": True, "apps": ["polls"]}},
        {"allow_network": False, "beat": False},
    )
    assert (options.project, options.beat, options.apps, options.allow_network) == (
        str(tmp_path),
        True,
        ["polls"],
        False,
    )
    with pytest.raises(
        RequestError, match=r"Invalid run options: max_gate_tries: Input should be a valid integer"
    ):
        run_options({"project": str(tmp_path), "options": {"max_gate_tries": "often"}}, {})
    with pytest.raises(RequestError, match="goes beside `options`"):
        run_options({"options": {"project": str(tmp_path)}, "project": str(tmp_path)}, {})
