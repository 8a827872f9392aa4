"""The calculator protocol: the model writes `CALCULATE: <expression>` (or `<calc>expression</calc>`).

Why a calculator next to the Python tool: small models get arithmetic wrong but can write `CALCULATE: 12*(3+4)`;
evaluating it (tools.calculator: exact, in-process, math only) costs microseconds instead of a subprocess.
"""

from __future__ import annotations

import re

from agents.tool_use.base import Tool, ToolCall, ToolResult
from tools.calculator import CalculatorError, calculate


class CalculatorTool(Tool):
    name = "calculator"
    description = "evaluates one arithmetic expression exactly (+ - * / // % ^, sqrt, log, comb, ...)"

    @property
    def usage(self) -> str:
        return "CALCULATE: expression   (on its own line; the result comes back in <output>)"

    @property
    def stop_strings(self) -> tuple[str, ...]:
        return ("</calc>",)

    def find_call(self, text: str) -> ToolCall | None:
        line = re.search(r"(?m)^[ \t]*CALCULATE:[ \t]*(?P<expr>[^\n]*\S)[ \t]*(?:\n|$)", text)
        tagged = re.search(r"<calc>(?P<expr>.*?)</calc>", text, flags=re.DOTALL)
        found = [m for m in (line, tagged) if m]
        if not found:
            return None
        first = min(found, key=lambda m: m.start())
        return ToolCall(self.name, first.group("expr").strip(), first.start(), first.end())

    def close_unfinished(self, text: str) -> str:
        return text + "</calc>" if text.rfind("<calc>") > text.rfind("</calc>") else text

    def run(self, argument: str) -> ToolResult:
        try:
            return ToolResult(f"{argument} = {calculate(argument)}")
        except CalculatorError as exc:
            return ToolResult(f"error: {exc}", ok=False)
