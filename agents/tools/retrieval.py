"""Retrieval over a local folder of text documents: the model writes <search>query</search> and gets passages.

Why: an agent that holds a corpus (manuals, notes, a knowledge base) can answer subtasks that others cannot,
which is exactly what its declared capability should advertise. Documents are split into passages of a few
hundred characters so the model receives focused evidence; BM25 (default) or MiniLM cosine ranks them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

from agents.tools.base import TaggedTool, ToolResult
from agents.tools.bm25 import BM25Index
from core.errors import SymphonyError

DOCUMENT_SUFFIXES = (".txt", ".md", ".rst")
Method = Literal["bm25", "embedding"]


@dataclass(frozen=True)
class Passage:
    source: str  # path relative to the corpus folder
    text: str


def split_passages(text: str, target_chars: int = 600) -> list[str]:
    """Paragraphs merged up to ~target_chars; over-long paragraphs split at sentence ends."""
    paragraphs = [re.sub(r"\s+", " ", p).strip() for p in re.split(r"\n\s*\n", text)]
    pieces: list[str] = []
    for para in filter(None, paragraphs):
        if len(para) <= target_chars:
            pieces.append(para)
            continue
        sentence_buffer = ""
        for sentence in re.split(r"(?<=[.!?])\s+", para):
            if sentence_buffer and len(sentence_buffer) + len(sentence) + 1 > target_chars:
                pieces.append(sentence_buffer)
                sentence_buffer = sentence
            else:
                sentence_buffer = f"{sentence_buffer} {sentence}".strip()
        if sentence_buffer:
            pieces.append(sentence_buffer)
    merged: list[str] = []
    for piece in pieces:
        if merged and len(merged[-1]) + len(piece) + 1 <= target_chars // 2:
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged


def load_corpus(folder: Path, target_chars: int = 600) -> list[Passage]:
    """Every .txt/.md/.rst file under `folder` (recursively, sorted), split into passages."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SymphonyError(f"retrieval corpus folder not found: {folder}")
    passages = []
    for file in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in DOCUMENT_SUFFIXES):
        text = file.read_text(encoding="utf-8", errors="replace")
        passages.extend(Passage(str(file.relative_to(folder)), t) for t in split_passages(text, target_chars))
    if not passages:
        raise SymphonyError(f"retrieval corpus {folder} has no {'/'.join(DOCUMENT_SUFFIXES)} documents with text")
    return passages


class RetrievalTool(TaggedTool):
    name = "retrieval"
    tag = "search"
    description = "searches the agent's local documents and returns the most relevant passages"

    def __init__(self, passages: Sequence[Passage], *, method: Method = "bm25", k: int = 3) -> None:
        if not passages:
            raise SymphonyError("retrieval needs at least one passage")
        if method not in ("bm25", "embedding"):
            raise SymphonyError(f"unknown retrieval method {method!r} (use 'bm25' or 'embedding')")
        if k < 1:
            raise SymphonyError(f"retrieval k must be >= 1, got {k}")
        self.passages = list(passages)
        self.method = method
        self.k = k
        self._bm25 = BM25Index([p.text for p in self.passages]) if method == "bm25" else None
        self._matrix = self._embed([p.text for p in self.passages]) if method == "embedding" else None

    @classmethod
    def from_folder(cls, folder: Path, *, method: Method = "bm25", k: int = 3) -> "RetrievalTool":
        return cls(load_corpus(folder), method=method, k=k)

    @property
    def usage(self) -> str:
        return "<search>a few keywords</search>"

    @staticmethod
    def _embed(texts: list[str]):
        from agents.capability import sentence_encoder

        return sentence_encoder().encode(texts, normalize_embeddings=True, convert_to_numpy=True)

    def search(self, query: str) -> list[tuple[Passage, float]]:
        """The best passages for `query`, best first, with their scores (BM25 score or cosine)."""
        if not query.strip():
            return []
        if self._bm25 is not None:
            return [(self.passages[i], s) for i, s in self._bm25.top(query, self.k)]
        sims = self._matrix @ self._embed([query])[0]
        order = sorted(range(len(sims)), key=lambda i: (-float(sims[i]), i))[: self.k]
        return [(self.passages[i], float(sims[i])) for i in order]

    def run(self, argument: str) -> ToolResult:
        hits = self.search(argument)
        if not hits:
            return ToolResult(f"no passages match {argument!r}", ok=bool(argument.strip()))
        return ToolResult("\n".join(f"[{n}] ({p.source}) {p.text}" for n, (p, _) in enumerate(hits, 1)))
