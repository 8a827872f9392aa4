"""A local folder of documents as passages, and BM25 search over them: the one corpus loader and search.

Why passages: a caller (a model's context, a planner's next step) needs focused evidence, not whole files.
Paragraphs are merged up to a few hundred characters, so a heading travels with the text under it, and
over-long paragraphs (a PDF page without blank lines) are split at sentence ends. Every passage keeps the
path of its document relative to the corpus folder, which is what a hit reports.

Why the index follows the folder: a search server runs for a long time while its documents are edited;
`CorpusIndex.search` rebuilds the passages whenever a document's size or modification time changed.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from tools.bm25 import BM25Index
from tools.errors import PermanentToolError

__all__ = [
    "DOCUMENT_SUFFIXES",
    "CorpusError",
    "CorpusIndex",
    "Hit",
    "Passage",
    "SearchInput",
    "SearchOutput",
    "load_corpus",
    "read_document",
    "read_pdf",
    "split_passages",
]

DOCUMENT_SUFFIXES = (".txt", ".md", ".rst", ".pdf")
PASSAGE_CHARS = 600


class CorpusError(PermanentToolError):
    """The corpus folder is missing, or one of its documents cannot be read."""


@dataclass(frozen=True)
class Passage:
    path: str  # of the document, relative to the corpus folder
    text: str


class SearchInput(BaseModel):
    query: str = Field(min_length=1, max_length=2000, description="keywords to look for")
    k: int = Field(default=3, ge=1, le=20, description="number of passages to return")


class Hit(BaseModel):
    path: str = Field(description="the document, relative to the corpus folder")
    score: float = Field(description="BM25 score (higher is more relevant)")
    passage: str


class SearchOutput(BaseModel):
    hits: list[Hit]


def split_passages(text: str, target_chars: int = PASSAGE_CHARS) -> list[str]:
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


def read_pdf(path: Path) -> tuple[str, int]:
    """The text of a PDF (pages joined by newlines, via pypdf) and its number of pages."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(str(path))
        return "\n".join(page.extract_text() or "" for page in reader.pages), len(reader.pages)
    except (PyPdfError, OSError, ValueError) as exc:
        raise CorpusError(f"cannot read PDF {Path(path).name}: {exc}") from exc


def read_document(path: Path) -> str:
    """The text of one .txt/.md/.rst/.pdf file; undecodable bytes are replaced."""
    path = Path(path)
    if path.suffix.lower() == ".pdf":
        return read_pdf(path)[0]
    return path.read_text(encoding="utf-8", errors="replace")


def _documents(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in DOCUMENT_SUFFIXES and p.is_file())


def load_corpus(folder: Path, target_chars: int = PASSAGE_CHARS) -> list[Passage]:
    """Every document under `folder` (recursively, sorted by path), split into passages; [] if none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(f"corpus folder not found: {folder}")
    return [
        Passage(str(file.relative_to(folder)), text)
        for file in _documents(folder)
        for text in split_passages(read_document(file), target_chars)
    ]


class CorpusIndex:
    """BM25 search over a corpus folder's passages, rebuilt when the folder's documents change."""

    def __init__(self, folder: Path, target_chars: int = PASSAGE_CHARS) -> None:
        self.folder = Path(folder)
        self.target_chars = target_chars
        self._lock = threading.Lock()
        self._stamp: tuple[tuple[str, int, int], ...] | None = None
        self._passages: list[Passage] = []
        self._bm25 = BM25Index([])
        self._refresh()

    @property
    def passages(self) -> list[Passage]:
        self._refresh()
        return self._passages

    def search(self, query: str, k: int = 3) -> list[Hit]:
        """The k best passages with a positive score, best first (ties: earlier document and passage)."""
        self._refresh()
        passages, bm25 = self._passages, self._bm25
        return [Hit(path=passages[i].path, score=round(s, 4), passage=passages[i].text) for i, s in bm25.top(query, k)]

    def _refresh(self) -> None:
        if not self.folder.is_dir():
            raise CorpusError(f"corpus folder not found: {self.folder}")
        with self._lock:
            stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in _documents(self.folder))
            if stamp != self._stamp:
                passages = load_corpus(self.folder, self.target_chars)
                self._passages, self._bm25, self._stamp = passages, BM25Index([p.text for p in passages]), stamp
