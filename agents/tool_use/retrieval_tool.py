"""Retrieval as an agent tool: the model writes a query, the agent's corpus answers with passages.

Why: an agent that holds a corpus (manuals, notes, a knowledge base) can answer subtasks that others cannot,
which is exactly what its declared capability should advertise. Loading, passage splitting and BM25 ranking
are tools.retrieval's (the same search the scheduler's search agent serves).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from agents.tool_use.base import AgentTool, Example, ToolResult
from tools.retrieval import CorpusError, CorpusIndex, Hit, SearchInput


class RetrievalTool(AgentTool):
    name = "retrieval"
    description = "searches the agent's local documents and returns the most relevant passages"
    input_model = SearchInput
    examples = (Example("How many days are in a leap year?", {"query": "days leap year"},
                      "[1] (calendar.txt) A leap year has 366 days; February has 29 days.", "366"),)

    def __init__(self, index: CorpusIndex, *, k: int = 2) -> None:
        if k < 1:
            raise CorpusError(f"retrieval k must be >= 1, got {k}")
        if not index.passages:
            raise CorpusError(f"retrieval corpus {index.folder} has no documents with text")
        self.index = index
        self.k = k

    @classmethod
    def from_folder(cls, folder: Path, *, k: int = 2) -> "RetrievalTool":
        return cls(CorpusIndex(Path(folder)), k=k)

    def search(self, query: str) -> list[Hit]:
        """The best passages for `query`, best first."""
        return self.index.search(query, self.k) if query.strip() else []

    def run(self, arguments: BaseModel) -> ToolResult:
        query = arguments.query  # type: ignore[attr-defined]
        hits = self.search(query)
        if not hits:
            return ToolResult(f"no passages match {query!r}", ok=bool(query.strip()))
        return ToolResult("\n".join(f"[{n}] ({hit.path}) {hit.passage}" for n, hit in enumerate(hits, 1)))
