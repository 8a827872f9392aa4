"""How an agent's chat model uses tools: plain-text protocols and the generate -> call -> output loop.

    <python>print(2**10)</python>      sandboxed Python (agents.tool_use.python_tool -> tools.sandbox)
    CALCULATE: 12*(3+4)                 exact arithmetic (agents.tool_use.calculator_tool -> tools.calculator)
    <search>graph coloring</search>     passages from a local folder (agents.tool_use.retrieval_tool -> tools.retrieval)

Why only the protocols live here: what a tool computes is the shared implementation in `tools/` (the same one
the scheduler's MCP tool agents serve); this package turns the model's text into calls and results back into
text. `run_with_tools(backend, conversation, tools, max_rounds)` runs the loop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from agents.tool_use.base import Tool, ToolCall, ToolResult
from agents.tool_use.calculator_tool import CalculatorTool
from agents.tool_use.loop import ToolExchange, ToolRunOutcome, run_with_tools, tool_instructions
from agents.tool_use.python_tool import PythonTool
from agents.tool_use.retrieval_tool import RetrievalTool
from core.errors import SymphonyError

TOOL_NAMES = ("python", "calculator", "retrieval")

__all__ = [
    "TOOL_NAMES",
    "CalculatorTool",
    "PythonTool",
    "RetrievalTool",
    "Tool",
    "ToolCall",
    "ToolExchange",
    "ToolResult",
    "ToolRunOutcome",
    "build_tools",
    "run_with_tools",
    "tool_instructions",
]


def build_tools(names: Iterable[str], corpus: Path | None = None) -> list[Tool]:
    """Tools by name ("python", "calculator", "retrieval"); retrieval needs a corpus folder."""
    tools: list[Tool] = []
    for name in dict.fromkeys(names):  # de-duplicate, keep order
        if name == "python":
            tools.append(PythonTool())
        elif name == "calculator":
            tools.append(CalculatorTool())
        elif name == "retrieval":
            if corpus is None:
                raise SymphonyError("the retrieval tool needs a corpus folder (agent.corpus)")
            tools.append(RetrievalTool.from_folder(Path(corpus)))
        else:
            raise SymphonyError(f"unknown tool {name!r} (known: {', '.join(TOOL_NAMES)})")
    return tools
