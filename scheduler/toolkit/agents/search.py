"""Search agent: BM25 over a local document corpus (text, markdown, PDF), returning ranked passages.

Why BM25 and not embeddings: it is exact, deterministic and instant on CPU, so scripted evaluation plans
are reproducible; the corpus is small. The index is built once per agent and rebuilt if files change.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from scheduler.errors import PermanentToolError
from scheduler.toolkit.agent_server import ToolAgent
from scheduler.toolkit.typed_tool import Progress, TypedTool

WORD = re.compile(r"[a-z0-9]+")
SUFFIXES = (".txt", ".md", ".pdf")


class SearchInput(BaseModel):
    query: str = Field(min_length=1, description="keywords to look for")
    k: int = Field(default=3, ge=1, le=20, description="number of passages to return")


class Hit(BaseModel):
    path: str
    score: float
    passage: str


class SearchOutput(BaseModel):
    hits: list[Hit]


@dataclass
class Passage:
    path: str
    text: str
    terms: Counter


def tokens(text: str) -> list[str]:
    return WORD.findall(text.lower())


def _file_text(path: Path) -> str:
    if path.suffix.lower() == ".pdf":
        from pypdf import PdfReader

        return "\n".join(p.extract_text() or "" for p in PdfReader(str(path)).pages)
    return path.read_text(encoding="utf-8")


def build_index(root: Path) -> list[Passage]:
    """One passage per paragraph (blank-line separated) of every corpus file."""
    passages: list[Passage] = []
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file()):
        rel = str(path.relative_to(root))
        for para in re.split(r"\n\s*\n", _file_text(path)):
            para = " ".join(para.split())
            if para:
                passages.append(Passage(rel, para, Counter(tokens(para))))
    return passages


def bm25(passages: list[Passage], query: str, k: int, k1: float = 1.5, b: float = 0.75) -> list[Hit]:
    terms = tokens(query)
    if not passages or not terms:
        return []
    n = len(passages)
    avg = sum(sum(p.terms.values()) for p in passages) / n
    df = Counter(t for p in passages for t in set(p.terms) if t in terms)
    scored = []
    for p in passages:
        length = sum(p.terms.values())
        score = 0.0
        for t in terms:
            tf = p.terms.get(t, 0)
            if tf:
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg))
        if score > 0:
            scored.append(Hit(path=p.path, score=round(score, 4), passage=p.text))
    scored.sort(key=lambda h: (-h.score, h.path))
    return scored[:k]


def search_agent(root: Path) -> ToolAgent:
    root = Path(root)
    if not root.is_dir():
        raise PermanentToolError(f"corpus folder {root} does not exist")
    cache: dict[str, object] = {}

    def index() -> list[Passage]:
        stamp = tuple(sorted((str(p), p.stat().st_mtime_ns) for p in root.rglob("*") if p.suffix.lower() in SUFFIXES))
        if cache.get("stamp") != stamp:
            cache["passages"], cache["stamp"] = build_index(root), stamp
        return cache["passages"]  # type: ignore[return-value]

    async def search(data: SearchInput, progress: Progress) -> SearchOutput:
        passages = await asyncio.to_thread(index)
        return SearchOutput(hits=bm25(passages, data.query, data.k))

    return ToolAgent(
        name="search",
        description="Keyword (BM25) search over a local document corpus; returns the best matching paragraphs.",
        tools=[TypedTool("search_corpus", "Find the paragraphs of the local corpus that best match a query.", SearchInput, SearchOutput, search)],
        capacity=8,
    )
