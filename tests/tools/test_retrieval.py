"""The one corpus loader and BM25 search: passages from real files (text and PDF), ranking, and reloading."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from tools.bm25 import BM25Index, tokenize
from tools.retrieval import CorpusError, CorpusIndex, SearchInput, SearchOutput, load_corpus, read_document, split_passages

REPORT_PDF = Path(__file__).resolve().parents[2] / "data" / "gaia_local" / "files" / "report.pdf"

DOCS = {
    "graphs.md": "# Graphs\n\nDijkstra's algorithm finds shortest paths in graphs with non-negative edge weights.\n\n"
    "Breadth-first search explores a graph level by level.",
    "cooking.txt": "To bake sourdough bread, feed the starter, knead the dough and proof it overnight.",
    "nested/primes.rst": "A prime number has exactly two divisors. The sieve of Eratosthenes lists primes.",
    "ignored.bin": "binary file about primes and graphs",
}


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    for name, text in DOCS.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_load_corpus_reads_documents_recursively_with_relative_paths(corpus: Path) -> None:
    passages = load_corpus(corpus)
    assert {p.path for p in passages} == {"graphs.md", "cooking.txt", "nested/primes.rst"}
    assert all(p.text and "\n" not in p.text for p in passages)
    graphs = [p.text for p in passages if p.path == "graphs.md"]
    assert graphs[0].startswith("# Graphs Dijkstra's")  # the heading travels with the text under it


def test_pdf_documents_are_read(tmp_path: Path) -> None:
    shutil.copy(REPORT_PDF, tmp_path / "report.pdf")
    assert "Total budget: 4875300 credits" in read_document(tmp_path / "report.pdf")
    hits = CorpusIndex(tmp_path).search("total budget credits", k=1)
    assert hits[0].path == "report.pdf" and "4875300" in hits[0].passage
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    with pytest.raises(CorpusError, match="broken.pdf"):
        load_corpus(tmp_path)


def test_split_passages_respects_target() -> None:
    text = ("This is a sentence about things. " * 60) + "\n\nShort tail."
    pieces = split_passages(text, target_chars=300)
    assert len(pieces) > 3 and all(len(p) <= 300 for p in pieces[:-1])
    assert pieces[-1].endswith("Short tail.")
    assert " ".join(pieces).split() == text.split()


def test_search_ranks_the_relevant_document(corpus: Path) -> None:
    index = CorpusIndex(corpus)
    assert index.search("shortest path algorithm", k=2)[0].path == "graphs.md"
    assert index.search("how do I bake bread", k=2)[0].path == "cooking.txt"
    hits = index.search("sieve for prime numbers", k=3)
    assert hits[0].path == "nested/primes.rst" and all(a.score >= b.score for a, b in zip(hits, hits[1:]))
    assert index.search("zzzz qqqq") == [] and index.search("the of and") == []
    assert SearchOutput(hits=hits).model_dump()["hits"][0]["passage"].startswith("A prime number")


def test_index_follows_changes_to_the_folder(corpus: Path) -> None:
    index = CorpusIndex(corpus)
    assert index.search("volcano") == []
    (corpus / "volcano.md").write_text("A volcano erupts lava.")
    assert [h.path for h in index.search("volcano")] == ["volcano.md"]
    cooking = corpus / "cooking.txt"
    cooking.write_text("Nothing about baking any more, only volcanoes.")
    os.utime(cooking, ns=(1, 1))
    assert index.search("sourdough") == []


def test_missing_folder_and_bad_queries_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="not found"):
        CorpusIndex(tmp_path / "missing")
    assert load_corpus(tmp_path) == []
    with pytest.raises(ValidationError):
        SearchInput(query="", k=3)
    with pytest.raises(ValidationError):
        SearchInput(query="x", k=0)


def test_bm25_ranks_rare_terms_higher_and_ignores_unknown() -> None:
    index = BM25Index(["apple banana", "apple cherry", "apple apple apple"])
    assert index.top("cherry", 3) == [(1, index.scores("cherry")[1])]
    assert index.top("zucchini", 3) == []
    assert index.top("apple cherry", 1)[0][0] == 1
    assert tokenize("The Graph, of 3 nodes!") == ["graph", "3", "nodes"]
    assert BM25Index([]).top("anything", 3) == []
