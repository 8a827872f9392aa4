"""A calculator: exact-ish arithmetic on one expression, in-process and safe (no eval).

Why in addition to the Python runner: small models get arithmetic wrong but can write `CALCULATE: 12*(3+4)`;
evaluating a whitelisted AST costs microseconds instead of a subprocess, and cannot do anything but math.
Protocol: a line `CALCULATE: <expression>` or `<calc>expression</calc>`.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from fractions import Fraction
from typing import Callable

from agents.tools.base import Tool, ToolCall, ToolResult

_BINARY: dict[type, Callable] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable] = {
    "sqrt": math.sqrt, "log": math.log, "log2": math.log2, "log10": math.log10, "exp": math.exp,
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin, "acos": math.acos, "atan": math.atan,
    "abs": abs, "round": round, "floor": math.floor, "ceil": math.ceil, "factorial": math.factorial,
    "comb": math.comb, "perm": math.perm, "gcd": math.gcd, "lcm": math.lcm, "min": min, "max": max,
}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
MAX_EXPONENT = 10_000
MAX_FACTORIAL = 1_000
MAX_LENGTH = 500


class CalculatorError(ValueError):
    """The expression is not plain arithmetic or is too expensive."""


def evaluate(expression: str) -> int | float:
    """Evaluate an arithmetic expression (numbers, + - * / // % ** ^, parentheses, math functions)."""
    expression = expression.strip().replace("^", "**").replace("×", "*").replace("÷", "/").replace("−", "-")
    expression = re.sub(r"(?<=\d),(?=\d{3}\b)", "", expression)  # 1,234 -> 1234
    if not expression:
        raise CalculatorError("empty expression")
    if len(expression) > MAX_LENGTH:
        raise CalculatorError(f"expression longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise CalculatorError(f"not an arithmetic expression: {exc.msg}") from exc
    value = _eval(tree.body)
    if isinstance(value, Fraction):
        value = value.numerator if value.denominator == 1 else float(value)
    return value


def _eval(node: ast.AST):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise CalculatorError(f"exponent larger than {MAX_EXPONENT}")
        if isinstance(node.op, ast.Div) and isinstance(left, int) and isinstance(right, int) and right:
            return Fraction(left, right)  # keep 10/4*2 exact
        try:
            return _BINARY[type(node.op)](left, right)
        except ZeroDivisionError as exc:
            raise CalculatorError("division by zero") from exc
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
        if node.keywords:
            raise CalculatorError("keyword arguments are not supported")
        args = [_eval(a) for a in node.args]
        args = [float(a) if isinstance(a, Fraction) else a for a in args]
        if node.func.id == "factorial" and args and args[0] > MAX_FACTORIAL:
            raise CalculatorError(f"factorial argument larger than {MAX_FACTORIAL}")
        try:
            return _FUNCTIONS[node.func.id](*args)
        except (ValueError, TypeError, OverflowError) as exc:
            raise CalculatorError(f"{node.func.id}: {exc}") from exc
    raise CalculatorError(f"unsupported element: {ast.unparse(node) if hasattr(ast, 'unparse') else node!r}")


def format_number(value: int | float) -> str:
    """Integers as integers, floats without float noise (0.1+0.2 -> 0.3), at most 12 significant digits."""
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.12g}"
    return str(value)


class CalculatorTool(Tool):
    name = "calculator"
    description = "evaluates one arithmetic expression exactly (+ - * / // % **, sqrt, log, comb, ...)"

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
            return ToolResult(f"{argument} = {format_number(evaluate(argument))}")
        except CalculatorError as exc:
            return ToolResult(f"error: {exc}", ok=False)
        except (OverflowError, RecursionError, MemoryError):
            return ToolResult("error: result too large", ok=False)
