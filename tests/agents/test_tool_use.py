"""The agents' tool calls: schemas derived from the tools' input models, grounding, parsing, running through tools/."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from agents.tool_use import CalculatorTool, PythonTool, RetrievalTool, build_tools, call_constraint, parse_call
from agents.tool_use.calculator_tool import composed_pattern, formula_spans, grounded_pattern, numbers_in
from core.errors import SymphonyError
from tools.calculator import CalculatorInput

QUESTION = "Calculate ( 2 + -8 ) + 14. Then add 1,200."


def test_arguments_schema_is_the_input_model_required_fields() -> None:
    python = PythonTool().arguments_schema("")
    assert list(python["properties"]) == ["code"]  # timeout_s and memory_mb keep their defaults
    assert python["properties"]["code"]["maxLength"] == PythonTool.input_model.model_json_schema()["properties"]["code"]["maxLength"]
    free = CalculatorTool(grounded=False).arguments_schema(QUESTION)
    assert free["properties"]["expression"] == CalculatorInput.model_json_schema()["properties"]["expression"]


def test_a_written_formula_is_copied_as_one_of_its_spans() -> None:
    pattern = re.compile(grounded_pattern("Calculate -( 4 - -7 ) * 2."))
    for ok in ("-( 4 - -7 ) * 2", "( 4 - -7 ) * 2", "4 - -7"):
        assert pattern.fullmatch(ok), ok
    for bad in ("-(4 - -7) * 2", "4 - 7", "( 4 - -7", "-( 4 - -7 ) * 2 = -22", "2 * 4"):
        assert not pattern.fullmatch(bad), bad
    assert formula_spans("no formula here, only 3 apples") == []
    assert formula_spans("problem: 4 + 3 - 8 =")[0] == "4 + 3 - 8"


def test_without_a_formula_expressions_use_only_the_quantities_of_the_text() -> None:
    text = "Ann buys 12 pens at 2 dollars, then -8 more. She pays 1,200 cents."
    assert grounded_pattern(text) == composed_pattern(text)
    pattern = re.compile(composed_pattern(text))
    for ok in ("12 * 2", "(12 + -8) * 2", "1,200 / 100", "1200/12", "-((12 + -8) * 2) - 12"):
        assert pattern.fullmatch(ok), ok
    for bad in ("12 * 2 = 24", "12 * 99", "12 * x", "122 * 2", "12 * (", "12 2", "(((2)))",
                "12 + 8", "-12 + 2", "13 + 2"):  # a dropped or added sign, a number the text does not have
        assert not pattern.fullmatch(bad), bad
    assert numbers_in("pay $1,200.50 for 3.5 kg, -4 each") == ["1,200.50", "1200.50", "3.5", "-4"]
    assert numbers_in("half of a dozen eggs in 3 hours") == ["3", "2", "1", "12", "60"]
    assert numbers_in("5-3 and (7)-2") == ["5", "3", "7", "2"]  # a minus after a digit or ")" is an operator


@given(st.lists(st.integers(min_value=0, max_value=999), min_size=2, max_size=4),
       st.lists(st.sampled_from("+-*/"), min_size=3, max_size=3))
def test_any_expression_over_the_question_numbers_is_grounded(numbers, ops) -> None:
    question = "Numbers: " + ", ".join(map(str, numbers))
    expression = str(numbers[0]) + "".join(f" {op} {n}" for op, n in zip(ops, numbers[1:]))
    assert re.fullmatch(composed_pattern(question), expression)
    assert re.fullmatch(grounded_pattern(f"Calculate {expression}."), expression)  # and a written one is copied


def test_call_constraint_names_each_tool() -> None:
    tools = [CalculatorTool(), PythonTool()]
    constraint = call_constraint(tools, QUESTION)
    schema = json.loads(constraint.source)
    assert constraint.name == "ToolCall(calculator,python)"
    assert [v["properties"]["tool"]["const"] for v in schema["anyOf"]] == ["calculator", "python"]
    with pytest.raises(SymphonyError):
        call_constraint([], QUESTION)


def test_parse_call() -> None:
    tools = [CalculatorTool(), PythonTool()]
    ok = parse_call('{"tool": "calculator", "arguments": {"expression": "2 + 3"}}', tools)
    assert ok.tool is tools[0] and ok.arguments.expression == "2 + 3" and ok.error is None
    assert "not JSON" in parse_call("CALCULATE: 2 + 3", tools).error
    assert "unknown tool" in parse_call('{"tool": "browser", "arguments": {}}', tools).error
    assert "expression" in parse_call('{"tool": "calculator", "arguments": {"expression": ""}}', tools).error


def test_calculator_runs_the_exact_calculator() -> None:
    tool = CalculatorTool()
    assert tool.run(CalculatorInput(expression="3*1.25 + 2*0.80")).output == "5.35"
    assert tool.run(CalculatorInput(expression="1e20 + 1")).output == "100000000000000000001"
    failed = tool.run(CalculatorInput(expression="1/0"))
    assert not failed.ok and failed.output.startswith("error:")


def test_python_tool_runs_the_sandbox() -> None:
    tool = PythonTool()
    parse = lambda code: tool.parse({"code": code})  # noqa: E731
    assert tool.run(parse("print(6 * 7)")).output == "42"
    assert "no output" in tool.run(parse("x = 1")).output
    failing = tool.run(parse("raise ValueError('boom')"))
    assert not failing.ok and "ValueError: boom" in failing.output
    assert not tool.run(parse("   ")).ok


DOCS = {
    "graphs.md": "# Graphs\n\nDijkstra's algorithm finds shortest paths in graphs with non-negative edge weights.",
    "cooking.txt": "To bake sourdough bread, feed the starter, knead the dough and proof it overnight.",
}


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text)
    return folder


def test_retrieval_tool(corpus: Path) -> None:
    tool = RetrievalTool.from_folder(corpus, k=2)
    result = tool.run(tool.parse({"query": "bread dough"}))
    assert result.ok and result.output.startswith("[1] (cooking.txt) To bake sourdough")
    assert tool.search("shortest path algorithm")[0].path == "graphs.md"
    missing = tool.run(tool.parse({"query": "zzzz qqqq"}))
    assert "no passages" in missing.output and missing.ok


def test_retrieval_needs_a_corpus_with_text(corpus: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SymphonyError, match="no documents"):
        RetrievalTool.from_folder(empty)
    with pytest.raises(SymphonyError, match="not found"):
        RetrievalTool.from_folder(tmp_path / "missing")
    with pytest.raises(SymphonyError, match="k must be"):
        RetrievalTool.from_folder(corpus, k=0)


def test_build_tools_by_name(corpus: Path) -> None:
    tools = build_tools(["python", "calculator", "retrieval", "python"], corpus=corpus)
    assert [t.name for t in tools] == ["python", "calculator", "retrieval"]
    with pytest.raises(SymphonyError, match="corpus"):
        build_tools(["retrieval"])
    with pytest.raises(SymphonyError, match="unknown tool"):
        build_tools(["browser"])
