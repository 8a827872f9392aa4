"""Calculator evaluation/protocol and retrieval over a real folder of documents (BM25 and MiniLM)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.tools import CalculatorTool, RetrievalTool, build_tools
from agents.tools.bm25 import BM25Index, tokenize
from agents.tools.calculator import CalculatorError, evaluate, format_number
from agents.tools.retrieval import load_corpus, split_passages
from core.errors import SymphonyError


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("12*(3+4)", "84"),
        ("10/4*2", "5"),
        ("7/2", "3.5"),
        ("0.1+0.2", "0.3"),
        ("2^10", "1024"),
        ("-3**2", "-9"),
        ("17 // 5 + 17 % 5", "5"),
        ("sqrt(16) + abs(-2)", "6"),
        ("1,234 + 1", "1235"),
        ("comb(10, 3)", "120"),
        ("round(pi, 4)", "3.1416"),
        ("3 × 4 ÷ 2", "6"),
    ],
)
def test_calculator_evaluates(expr: str, expected: str) -> None:
    assert format_number(evaluate(expr)) == expected


@pytest.mark.parametrize(
    "expr", ["", "__import__('os')", "open('x')", "2**100000", "1/0", "factorial(5000)", "x + 1", "[1, 2]", "sqrt(-1)"]
)
def test_calculator_refuses(expr: str) -> None:
    with pytest.raises(CalculatorError):
        evaluate(expr)


def test_calculator_protocol() -> None:
    tool = CalculatorTool()
    text = "First the cost.\nCALCULATE: 3*1.25 + 2*0.80\nSo the answer is 999"
    call = tool.find_call(text)
    assert call is not None and call.argument == "3*1.25 + 2*0.80"
    assert text[: call.end].endswith("2*0.80\n")
    assert tool.run(call.argument).output == "3*1.25 + 2*0.80 = 5.35"
    tagged = tool.find_call("CALCULATE in prose is not a call. <calc>2+2</calc>")
    assert tagged is not None and tagged.argument == "2+2"
    failed = tool.run("os.system('x')")
    assert not failed.ok and failed.output.startswith("error:")
    assert tool.find_call("nothing to compute here") is None


DOCS = {
    "graphs.md": "# Graphs\n\nDijkstra's algorithm finds shortest paths in graphs with non-negative edge weights.\n\n"
    "Breadth-first search explores a graph level by level.",
    "cooking.txt": "To bake sourdough bread, feed the starter, knead the dough and proof it overnight.",
    "nested/primes.txt": "A prime number has exactly two divisors. The sieve of Eratosthenes lists primes.",
    "ignored.bin": "binary file about primes and graphs",
}


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    for name, text in DOCS.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_load_corpus_reads_text_files_recursively(corpus: Path) -> None:
    passages = load_corpus(corpus)
    assert {p.source for p in passages} == {"graphs.md", "cooking.txt", "nested/primes.txt"}
    assert all(p.text and "\n" not in p.text for p in passages)


def test_split_passages_respects_target() -> None:
    text = ("This is a sentence about things. " * 60) + "\n\nShort tail."
    pieces = split_passages(text, target_chars=300)
    assert len(pieces) > 3 and all(len(p) <= 300 for p in pieces[:-1])
    assert pieces[-1].endswith("Short tail.")
    assert " ".join(pieces).split() == text.split()


@pytest.mark.parametrize("method", ["bm25", "embedding"])
def test_retrieval_finds_the_relevant_document(corpus: Path, method: str) -> None:
    tool = RetrievalTool.from_folder(corpus, method=method, k=2)
    assert tool.search("shortest path algorithm")[0][0].source == "graphs.md"
    assert tool.search("how do I bake bread")[0][0].source == "cooking.txt"
    assert tool.search("sieve for prime numbers")[0][0].source == "nested/primes.txt"
    result = tool.run("bread dough")
    assert result.ok and result.output.startswith("[1] (cooking.txt)")


def test_bm25_ranks_rare_terms_higher_and_ignores_unknown() -> None:
    index = BM25Index(["apple banana", "apple cherry", "apple apple apple"])
    assert index.top("cherry", 3) == [(1, index.scores("cherry")[1])]
    assert index.top("zucchini", 3) == []
    assert tokenize("The Graph, of 3 nodes!") == ["graph", "3", "nodes"]


def test_retrieval_protocol_and_errors(corpus: Path, tmp_path: Path) -> None:
    tool = RetrievalTool.from_folder(corpus)
    call = tool.find_call("Look it up: <search>Dijkstra</search> ...")
    assert call is not None and call.argument == "Dijkstra"
    assert "no passages" in tool.run("zzzz qqqq").output
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SymphonyError):
        RetrievalTool.from_folder(empty)
    with pytest.raises(SymphonyError):
        RetrievalTool.from_folder(tmp_path / "missing")
    with pytest.raises(SymphonyError):
        RetrievalTool.from_folder(corpus, method="magic")  # type: ignore[arg-type]


def test_build_tools_by_name(corpus: Path) -> None:
    tools = build_tools(["python", "calculator", "retrieval", "python"], corpus=corpus)
    assert [t.name for t in tools] == ["python", "calculator", "retrieval"]
    with pytest.raises(SymphonyError, match="corpus"):
        build_tools(["retrieval"])
    with pytest.raises(SymphonyError, match="unknown tool"):
        build_tools(["browser"])
