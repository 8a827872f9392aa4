"""The calculator as an agent tool: the model writes the expression, `tools.calculator` computes it exactly.

Why grounding: a small model copies numbers imperfectly and pads expressions with words, "=" and results it
made up. For one call the expression may therefore use only the numbers that occur in the text the model is
answering about, a few small constants (counts, halves, percent, units), the four operations, powers and up
to two levels of parentheses — still a pattern on `CalculatorInput.expression`, derived per call.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from pydantic import BaseModel

from agents.tool_use.base import AgentTool, Example, ToolResult
from tools.calculator import CalculatorError, CalculatorInput, calculate

CONSTANTS = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "12", "24", "60", "100", "1000")
_NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.])\d+(?:\.\d+)?")
MAX_GROUNDED_CHARS = 200


def numbers_in(text: str) -> list[str]:
    """Every number written in `text`, with and without thousands separators ("1,200" -> "1,200", "1200")."""
    found: list[str] = []
    for match in _NUMBER.findall(text):
        found += [match, match.replace(",", "")] if "," in match else [match]
    return list(dict.fromkeys(found))


def grounded_pattern(text: str) -> str:
    """A regex for expressions over the numbers of `text` and CONSTANTS (longest first, so "35" is one token)."""
    numbers = sorted(set(numbers_in(text)) | set(CONSTANTS), key=lambda n: (-len(n), n))
    num = "(?:" + "|".join(re.escape(n) for n in numbers) + ")"
    op = r" ?(?:[-+*/^]) ?"
    atom0 = rf"-?{num}"
    expr0 = rf"{atom0}(?:{op}{atom0})*"
    atom1 = rf"-?(?:{num}|\( ?{expr0} ?\))"
    expr1 = rf"{atom1}(?:{op}{atom1})*"
    atom2 = rf"-?(?:{num}|\( ?{expr1} ?\))"
    return rf"^{atom2}(?:{op}{atom2})*$"


class CalculatorTool(AgentTool):
    name = "calculator"
    description = "evaluates one arithmetic expression exactly (+ - * / ^ and parentheses)"
    input_model = CalculatorInput
    example = Example("What is 3 + 4 * 2?", {"expression": "3 + 4 * 2"}, "11", "11")

    def __init__(self, *, grounded: bool = True) -> None:
        self.grounded = grounded

    def arguments_schema(self, context: str) -> dict[str, Any]:
        schema = super().arguments_schema(context)
        if self.grounded:
            field = schema["properties"]["expression"]
            field.update({"pattern": grounded_pattern(context), "maxLength": MAX_GROUNDED_CHARS})
        return copy.deepcopy(schema)

    def run(self, arguments: BaseModel) -> ToolResult:
        expression = arguments.expression  # type: ignore[attr-defined]
        try:
            return ToolResult(calculate(expression))
        except CalculatorError as exc:
            return ToolResult(f"error: {exc}", ok=False)
