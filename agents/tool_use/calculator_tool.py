"""The calculator as an agent tool: the model writes the expression, `tools.calculator` computes it exactly.

Why grounding: a small model copies numbers imperfectly and pads expressions with words, "=" and results it
made up. So for one call the expression is narrowed to what the text the model is answering about supports —
still a pattern on `CalculatorInput.expression`, derived per call:
- copy: when the text contains a formula ("Calculate -( 4 - -7 ) * 2."), the expression is one of its
  well-formed spans, written as in the text (the model chooses where the computation starts and ends);
- compose: otherwise (word problems) it is built from the quantities the text has — numbers as written, with a
  minus sign in front of a number kept as part of it, number words ("four" -> 4) and the constants a word
  implies ("half" -> 2, "percent" -> 100, "dozen" -> 12, "hours" -> 60, ...) — with + - * / ^ and up to two
  levels of parentheses.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from pydantic import BaseModel

from agents.tool_use.base import AgentTool, Example, ToolResult
from tools.calculator import CalculatorError, CalculatorInput, calculate

# A number as written: a minus sign directly in front of it (not after a digit or ")") belongs to it, so "-34" in
# "12 + -34" is one quantity and the model cannot drop its sign.
_NUMBER = re.compile(r"(?<![\w.)])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?!\d|,\d)")
_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_WORDS.update({"a": "1", "an": "1", "single": "1", "once": "1", "twice": "2", "double": "2", "half": "2", "pair": "2",
               "thrice": "3", "triple": "3", "quarter": "4", "dozen": "12", "week": "7", "weeks": "7", "hour": "60",
               "hours": "60", "minute": "60", "minutes": "60", "day": "24", "days": "24", "percent": "100", "%": "100",
               "cents": "100", "hundred": "100", "thousand": "1000", "year": "12", "months": "12"})
_WORD = re.compile(r"[a-z]+|%")
MAX_COPIED_CHARS = 200
MAX_COMPOSED_CHARS = 60  # a composed expression of a few quantities; longer ones are a small model's loops


def numbers_in(text: str) -> list[str]:
    """Every number written in `text` (with and without thousands separators: "1,200" -> "1,200", "1200"), then
    the numbers its words stand for, in order of appearance."""
    found: list[str] = []
    for match in _NUMBER.findall(text):
        found += [match, match.replace(",", "")] if "," in match else [match]
    found = [n for n in found if n.lstrip("-")]
    found += [_WORDS[w] for w in _WORD.findall(text.lower()) if w in _WORDS]
    return list(dict.fromkeys(found))


_FORMULA = re.compile(r"(?:-\s*)?(?:\(\s*)*-?\d+(?:\.\d+)?(?:\s*\)|\s*[-+*/^×÷]\s*(?:-\s*)?(?:\(\s*)*-?\d+(?:\.\d+)?)+(?:\s*\))*")
_FORMULA_TOKEN = re.compile(r"-?\d+(?:\.\d+)?|[()]|[-+*/^×÷]")


def formula_spans(text: str) -> list[str]:
    """The well-formed pieces of every formula written in `text` (at least one operator, balanced parentheses),
    as written, longest first."""
    spans: set[str] = set()
    for match in _FORMULA.finditer(text):
        run = match.group(0)
        tokens = list(_FORMULA_TOKEN.finditer(run))
        for i, first in enumerate(tokens):
            if first.group(0) in ")+*/^×÷" or (first.group(0) == "-" and i + 1 < len(tokens) and tokens[i + 1].group(0) != "("):
                continue
            depth, has_op = 0, False
            for j in range(i, len(tokens)):
                tok = tokens[j].group(0)
                depth += {"(": 1, ")": -1}.get(tok, 0)
                if depth < 0:
                    break
                has_op = has_op or (tok in "+-*/^×÷" and j > i)
                if depth == 0 and has_op and tok not in "(+-*/^×÷":
                    spans.add(run[first.start() : tokens[j].end()])
    return sorted(spans, key=lambda s: (-len(s), s))


def grounded_pattern(text: str) -> str:
    """The expressions `text` supports: spans of its formulas if it has any (copy), else expressions over its
    quantities (compose)."""
    spans = formula_spans(text)
    if spans:
        return "^(?:" + "|".join(re.escape(span) for span in spans) + ")$"
    return composed_pattern(text)


def composed_pattern(text: str) -> str:
    """A regex for expressions over the quantities of `text` (longest first, so "35" is one number)."""
    numbers = sorted(set(numbers_in(text)) or {"0"}, key=lambda n: (-len(n), n))
    num = "(?:" + "|".join(re.escape(n) for n in numbers) + ")"
    op = r" ?(?:[-+*/^]) ?"
    expr0 = rf"{num}(?:{op}{num})*"
    atom1 = rf"(?:{num}|-?\( ?{expr0} ?\))"  # only a parenthesised group can be negated; numbers keep their sign
    expr1 = rf"{atom1}(?:{op}{atom1})*"
    atom2 = rf"(?:{num}|-?\( ?{expr1} ?\))"
    return rf"^{atom2}(?:{op}{atom2})*$"


class CalculatorTool(AgentTool):
    name = "calculator"
    description = "evaluates one arithmetic expression exactly (+ - * / ^ and parentheses); copy numbers and signs exactly"
    input_model = CalculatorInput
    exact_result = True
    examples = (
        Example("Calculate -( 6 - -2 ) * 3.", {"expression": "-( 6 - -2 ) * 3"}, "-24", "-24"),
        Example("Tom has 5 boxes with 12 pens each and gives away 9 pens. How many pens are left?",
                {"expression": "5 * 12 - 9"}, "51", "51"),
    )

    def __init__(self, *, grounded: bool = True) -> None:
        self.grounded = grounded

    def arguments_schema(self, context: str) -> dict[str, Any]:
        schema = super().arguments_schema(context)
        if self.grounded:
            field = schema["properties"]["expression"]
            copied = bool(formula_spans(context))
            field.update({"pattern": grounded_pattern(context),
                          "maxLength": MAX_COPIED_CHARS if copied else MAX_COMPOSED_CHARS})
        return copy.deepcopy(schema)

    def run(self, arguments: BaseModel) -> ToolResult:
        expression = arguments.expression  # type: ignore[attr-defined]
        try:
            return ToolResult(calculate(expression))
        except CalculatorError as exc:
            return ToolResult(f"error: {exc}", ok=False)
