"""How an agent's chat model uses tools: constrained JSON calls, real results, constrained answers.

    {"tool": "calculator", "arguments": {"expression": "12 * (3 + 4)"}}   tools.calculator (exact arithmetic)
    {"tool": "python", "arguments": {"code": "print(2 ** 10)"}}           tools.sandbox (sandboxed Python)
    {"tool": "retrieval", "arguments": {"query": "leap year days"}}       tools.retrieval (BM25 over a corpus)
    {"tool": "letter_counter", "arguments": {"text": "...", "letter": "r"}} tools.counting (exact letter count)
    {"tool": "item_counter", "arguments": {"items": ["two plums"]}}        tools.counting (exact item total)

Why only the calling lives here: what a tool computes is the shared implementation in `tools/` (the same one
the scheduler's MCP tool agents serve), with its pydantic input model as the call's schema; this package turns
a model's constrained call into a run and the result back into a conversation turn. `run_with_tools` is the loop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from agents.tool_use.base import AgentTool, Example, ToolResult, call_constraint, parse_call
from agents.tool_use.calculator_tool import CalculatorTool
from agents.tool_use.counting_tools import ItemCounterTool, LetterCounterTool
from agents.tool_use.loop import ToolExchange, ToolRunOutcome, run_with_tools, tool_instructions
from agents.tool_use.python_tool import PythonTool
from agents.tool_use.retrieval_tool import RetrievalTool
from core.errors import SymphonyError

TOOL_NAMES = ("python", "calculator", "retrieval", "letter_counter", "item_counter")

__all__ = [
    "TOOL_NAMES",
    "AgentTool",
    "CalculatorTool",
    "Example",
    "ItemCounterTool",
    "LetterCounterTool",
    "PythonTool",
    "RetrievalTool",
    "ToolExchange",
    "ToolResult",
    "ToolRunOutcome",
    "build_tools",
    "call_constraint",
    "parse_call",
    "run_with_tools",
    "tool_instructions",
]


def build_tools(names: Iterable[str], corpus: Path | None = None) -> list[AgentTool]:
    """Tools by name (TOOL_NAMES); retrieval needs a corpus folder."""
    tools: list[AgentTool] = []
    for name in dict.fromkeys(names):  # de-duplicate, keep order
        if name == "python":
            tools.append(PythonTool())
        elif name == "calculator":
            tools.append(CalculatorTool())
        elif name == "letter_counter":
            tools.append(LetterCounterTool())
        elif name == "item_counter":
            tools.append(ItemCounterTool())
        elif name == "retrieval":
            if corpus is None:
                raise SymphonyError("the retrieval tool needs a corpus folder (agent.corpus)")
            tools.append(RetrievalTool.from_folder(Path(corpus)))
        else:
            raise SymphonyError(f"unknown tool {name!r} (known: {', '.join(TOOL_NAMES)})")
    return tools
