"""Okapi BM25 over a fixed list of passages (pure Python, no extra dependency).

Why BM25 as the one retriever: it is exact-term, deterministic, instant to index and needs no model, which
suits small local corpora (an agent's notes, manuals, a task suite's documents) and keyword-heavy queries,
and it keeps scripted evaluation plans reproducible. Stopwords are dropped so that question words ("what
is the ...") do not outweigh the terms that identify a passage.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Sequence

_STOPWORDS = frozenset(
    "a an and are as at be by for from has have in is it its of on or that the this to was were will with what "
    "which who how why when where do does did can could should would i you he she we they them there their".split()
)


def tokenize(text: str) -> list[str]:
    """Lowercased word/number tokens without stopwords."""
    return [t for t in re.findall(r"[a-z0-9]+", text.lower()) if t not in _STOPWORDS]


class BM25Index:
    """Scores queries against passages with BM25 (k1, b as in Robertson & Zaragoza)."""

    def __init__(self, passages: Sequence[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.docs = [Counter(tokenize(p)) for p in passages]
        self.lengths = [sum(d.values()) for d in self.docs]
        self.avg_length = (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0
        df: Counter[str] = Counter()
        for doc in self.docs:
            df.update(doc.keys())
        n = len(self.docs)
        self.idf = {term: math.log((n - f + 0.5) / (f + 0.5) + 1.0) for term, f in df.items()}

    def scores(self, query: str) -> list[float]:
        terms = tokenize(query)
        out = []
        for doc, length in zip(self.docs, self.lengths):
            norm = self.k1 * (1 - self.b + self.b * length / self.avg_length) if self.avg_length else self.k1
            out.append(
                sum(self.idf.get(t, 0.0) * doc[t] * (self.k1 + 1) / (doc[t] + norm) for t in terms if t in doc)
            )
        return out

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        """Indices and scores of the k best passages with a positive score, best first (ties: lower index)."""
        ranked = sorted(enumerate(self.scores(query)), key=lambda pair: (-pair[1], pair[0]))
        return [(i, s) for i, s in ranked[:k] if s > 0]
