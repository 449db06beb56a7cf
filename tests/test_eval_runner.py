"""`django-integrator eval run`: cases × brokers on fresh fixtures, report.json + report.md, the table printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.cli import main as cli_main
from agent.evals.cases import CaseError, all_cases, load_case
from agent.evals.compact import compact_event
from agent.evals.drift import compare_tool_results, tool_results
from agent.evals.runner import recorded_transcript


def test_cases_load_and_bad_case_files_say_what_is_wrong(tmp_path: Path) -> None:
    case = load_case("startproject")
    assert case.recipe == "startproject" and case.brokers == ["embedded", "redis", "rabbitmq"]
    assert "startproject" in [c.name for c in all_cases()]
    options = case.options(tmp_path, "rabbitmq", ["--beat"])
    assert options.broker_url == "amqp://guest:guest@127.0.0.1:5672//"
    assert options.beat is True and options.allow_network is False and options.interactive is False
    with pytest.raises(CaseError, match="no eval case 'nope'"):
        load_case("nope")
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "x"\nrecipe = "no-such-recipe"\n')
    with pytest.raises(CaseError, match="recipe 'no-such-recipe' is not in LAYOUTS"):
        load_case(broken)
    broken.write_text('name = "x"\nrecipe = "startproject"\nbrokers = ["kafka"]\n')
    with pytest.raises(CaseError, match="brokers"):
        load_case(broken)


def test_drift_names_the_first_differing_line_even_beyond_the_kept_excerpt(tmp_path: Path) -> None:
    page = [f"line {n}: settings for {tmp_path}/mysite, took 12.5 ms" for n in range(1, 101)]
    recorded_event = {
        "type": "tool_result",
        "phase": "discovery",
        "name": "WebFetch",
        "content": "\n".join(page),
    }
    recorded = [compact_event(recorded_event, str(tmp_path), None)]
    assert recorded[0]["content"].startswith("line 1: settings for <project>/mysite, took <time>")
    assert (
        len(recorded[0]["content"]) < len(recorded_event["content"]) and len(recorded[0]["lines"]) == 100 * 6
    )

    elsewhere = "/srv/other/project"  # another fixture path and other timings: not drift
    same = [line.replace(str(tmp_path), elsewhere).replace("12.5 ms", "9 ms") for line in page]
    now = {"type": "tool_result", "phase": "discovery", "name": "WebFetch", "content": "\n".join(same)}
    assert (
        compare_tool_results(tool_results(recorded, None, None), tool_results([now], elsewhere, None)) == []
    )

    for changed, expected in [
        (2, "line 3: recorded 'line 3: settings for <project>/mysite, took <time>', now 'line 3 changed'"),
        (79, "line 80: recorded a line the transcript keeps only as a digest, now 'line 80 changed'"),
    ]:
        lines = [*same]
        lines[changed] = f"line {changed + 1} changed"
        now["content"] = "\n".join(lines)
        drift = compare_tool_results(tool_results(recorded, None, None), tool_results([now], elsewhere, None))
        assert [str(d) for d in drift] == [f"discovery · WebFetch (result 1): {expected}"]


@pytest.mark.live
def test_eval_run_prints_the_table_with_totals_and_writes_the_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    code = cli_main(
        [
            "eval",
            "run",
            "--cases",
            "startproject",
            "--brokers",
            "embedded",
            "--jobs",
            "2",
            "--out",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert printed.startswith("| case | broker | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | status |")
    assert "| startproject | embedded | " + " | ".join(["✓"] * 11) + " | passed | yes |" in printed
    assert "| **total** | 1 run |" in printed and "Per integration (mean of 1):" in printed
    assert (out / "report.md").read_text() in printed

    report = json.loads((out / "report.json").read_text())
    rows = {row["broker"]: row for row in report["rows"]}
    assert set(rows) == {"embedded"}  # --jobs 2: run in a worker process, the row came back whole
    for row in rows.values():
        assert row["met"] and row["unmet"] == [] and row["second_run_changes"] == 0
        assert row["model_calls"] > 0 and row["tool_calls"] > 0 and row["wall_s"] > 0
        assert row["prompt_tokens"] == row["completion_tokens"] == 0  # the offline policy spends none
        assert row["reference"] == str(recorded_transcript("startproject"))
        assert Path(row["transcript"]).is_file()
    totals = report["totals"]
    assert totals["runs"] == 1 and totals["expectations_met"] == 1
    assert (
        totals["model_calls"] == rows["embedded"]["model_calls"] == totals["per_integration"]["model_calls"]
    )
    assert {"prompt_tokens", "completion_tokens"} <= set(totals["per_integration"])
