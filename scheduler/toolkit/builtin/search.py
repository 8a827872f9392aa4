"""The search tool agent: the shared BM25 corpus search (`tools.retrieval`) over a local folder, served over MCP.

Why BM25 and not embeddings: it is exact, deterministic and instant on CPU, so scripted evaluation plans are
reproducible; the corpus is small. The index follows the folder (rebuilt when a document changes).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from scheduler.toolkit.agent_server import ToolAgent
from scheduler.toolkit.typed_tool import Progress, TypedTool
from tools.retrieval import CorpusIndex, SearchInput, SearchOutput


def search_agent(root: Path) -> ToolAgent:
    index = CorpusIndex(Path(root))

    async def search(data: SearchInput, progress: Progress) -> SearchOutput:
        return SearchOutput(hits=await asyncio.to_thread(index.search, data.query, data.k))

    return ToolAgent(
        name="search",
        description="Keyword (BM25) search over a local document corpus (text, markdown, PDF); returns the best passages.",
        tools=[TypedTool("search_corpus", "Find the passages of the local corpus that best match a query.", SearchInput, SearchOutput, search)],
        capacity=8,
    )
