"""The agents' text protocols: finding calls in model text, running them through tools/, reporting back as text."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.tool_use import CalculatorTool, PythonTool, RetrievalTool, build_tools
from core.errors import SymphonyError


def test_calculator_protocol() -> None:
    tool = CalculatorTool()
    text = "First the cost.\nCALCULATE: 3*1.25 + 2*0.80\nSo the answer is 999"
    call = tool.find_call(text)
    assert call is not None and call.argument == "3*1.25 + 2*0.80"
    assert text[: call.end].endswith("2*0.80\n")
    assert tool.run(call.argument).output == "3*1.25 + 2*0.80 = 5.35"
    assert tool.run("1e20 + 1").output == "1e20 + 1 = 100000000000000000001"  # the exact tools.calculator
    tagged = tool.find_call("CALCULATE in prose is not a call. <calc>2+2</calc>")
    assert tagged is not None and tagged.argument == "2+2"
    assert tool.close_unfinished("so <calc>2+2") == "so <calc>2+2</calc>"
    failed = tool.run("os.system('x')")
    assert not failed.ok and failed.output.startswith("error: unknown function")
    assert not tool.run("2 ** 100000").ok
    assert tool.find_call("nothing to compute here") is None


def test_python_tool_protocol() -> None:
    tool = PythonTool()
    text = "Let me compute.\n<python>\n```python\nprint(6 * 7)\n```\n</python> and then more"
    call = tool.find_call(text)
    assert call is not None and call.argument == "print(6 * 7)" and text[call.end :] == " and then more"
    assert tool.run(call.argument).output == "42"
    assert tool.find_call("<python>print(1)") is None
    assert tool.close_unfinished("x <python>print(1)") == "x <python>print(1)</python>"
    indented = tool.find_call("<python>\n    for i in range(2):\n        print(i)\n</python>")
    assert indented is not None and tool.run(indented.argument).output == "0\n1"
    silent = tool.run("x = 1")
    assert "no output" in silent.output
    failing = tool.run("raise ValueError('boom')")
    assert not failing.ok and "ValueError: boom" in failing.output
    assert not tool.run("   ").ok


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


def test_retrieval_protocol(corpus: Path) -> None:
    tool = RetrievalTool.from_folder(corpus, k=2)
    call = tool.find_call("Look it up: <search>Dijkstra</search> ...")
    assert call is not None and call.argument == "Dijkstra"
    result = tool.run("bread dough")
    assert result.ok and result.output.startswith("[1] (cooking.txt) To bake sourdough")
    assert tool.search("shortest path algorithm")[0].path == "graphs.md"
    missing = tool.run("zzzz qqqq")
    assert "no passages" in missing.output and missing.ok
    assert not tool.run("  ").ok


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
