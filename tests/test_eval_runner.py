"""`django-integrator eval run`: cases × brokers on fresh fixtures, report.json + report.md, the table printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.cli import main as cli_main
from agent.evals.cases import CaseError, all_cases, load_case
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
