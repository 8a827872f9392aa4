"""Agent tools with plain-text protocols, and the loop that lets a chat model use them.

    <python>print(2**10)</python>      sandboxed Python (agents.tools.python_tool)
    CALCULATE: 12*(3+4)                 safe arithmetic (agents.tools.calculator)
    <search>graph coloring</search>     passages from a local folder (agents.tools.retrieval)

`run_with_tools(backend, conversation, tools, max_rounds)` runs the generate -> call -> output loop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from agents.tools.base import Tool, ToolCall, ToolResult
from agents.tools.calculator import CalculatorTool
from agents.tools.loop import ToolExchange, ToolRunOutcome, run_with_tools, tool_instructions
from agents.tools.python_tool import PythonTool
from agents.tools.retrieval import RetrievalTool
from agents.tools.sandbox import SandboxLimits, SandboxResult, run_python
from core.errors import SymphonyError

TOOL_NAMES = ("python", "calculator", "retrieval")

__all__ = [
    "TOOL_NAMES",
    "CalculatorTool",
    "PythonTool",
    "RetrievalTool",
    "SandboxLimits",
    "SandboxResult",
    "Tool",
    "ToolCall",
    "ToolExchange",
    "ToolResult",
    "ToolRunOutcome",
    "build_tools",
    "run_python",
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
