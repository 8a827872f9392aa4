"""The retrieval protocol: the model writes <search>query</search> and gets passages of the agent's corpus.

Why: an agent that holds a corpus (manuals, notes, a knowledge base) can answer subtasks that others cannot,
which is exactly what its declared capability should advertise. Loading, passage splitting and BM25 ranking
are tools.retrieval's (the same search the scheduler's search agent serves).
"""

from __future__ import annotations

from pathlib import Path

from agents.tool_use.base import TaggedTool, ToolResult
from tools.retrieval import CorpusError, CorpusIndex, Hit


class RetrievalTool(TaggedTool):
    name = "retrieval"
    tag = "search"
    description = "searches the agent's local documents and returns the most relevant passages"

    def __init__(self, index: CorpusIndex, *, k: int = 3) -> None:
        if k < 1:
            raise CorpusError(f"retrieval k must be >= 1, got {k}")
        if not index.passages:
            raise CorpusError(f"retrieval corpus {index.folder} has no documents with text")
        self.index = index
        self.k = k

    @classmethod
    def from_folder(cls, folder: Path, *, k: int = 3) -> "RetrievalTool":
        return cls(CorpusIndex(Path(folder)), k=k)

    @property
    def usage(self) -> str:
        return "<search>a few keywords</search>"

    def search(self, query: str) -> list[Hit]:
        """The best passages for `query`, best first."""
        return self.index.search(query, self.k) if query.strip() else []

    def run(self, argument: str) -> ToolResult:
        hits = self.search(argument)
        if not hits:
            return ToolResult(f"no passages match {argument!r}", ok=bool(argument.strip()))
        return ToolResult("\n".join(f"[{n}] ({hit.path}) {hit.passage}" for n, hit in enumerate(hits, 1)))
