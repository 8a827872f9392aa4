"""The `symphony tools` and `symphony scheduler` commands, run in-process."""

from __future__ import annotations

import json
from pathlib import Path

from symphony.cli.main import main


def test_tools_list_prints_schema_hashes(capsys) -> None:
    assert main(["tools", "list"]) == 0
    out = capsys.readouterr().out
    assert "python" in out and "run_python" in out and out.count("schema:0x") == 4


def test_unknown_agent_is_one_line_error(capsys) -> None:
    assert main(["tools", "serve", "nope"]) == 2
    assert "unknown tool agent 'nope'" in capsys.readouterr().err


def test_scheduler_run_with_scripted_plan(tmp_path: Path, capsys) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps([
        {"thought": "t", "actions": [{"id": "a", "tool": "csv_aggregate", "args": {"path": "employees.csv", "column": "salary", "op": "count"}}]},
        {"thought": "done", "final_answer": "{{a.value}}"}]))
    code = main(["scheduler", "run", "how many employees?", "--local", "--plan", str(plan), "--trace-dir", str(tmp_path / "t")])
    out = capsys.readouterr().out
    assert code == 0
    summary = json.loads(out[out.index("{\n"): out.index("\n}") + 2])
    assert summary["answer"] == "40" and summary["ok"]
    assert "RUN_FINISHED" in out and len(list((tmp_path / "t").glob("*.jsonl"))) == 1


def test_scheduler_needs_agents(capsys) -> None:
    assert main(["scheduler", "run", "x", "--plan", "/nonexistent.json"]) == 2
    assert "cannot read plan" in capsys.readouterr().err
