"""A safe arithmetic evaluator: numbers, + - * / // % **, parentheses, and a few math functions.

Why not eval(): the expression comes from an LLM. We walk the AST and allow only arithmetic. Integers and
decimals are computed with `fractions.Fraction` so 0.1 + 0.2 == 0.3 exactly, which exact-match answers need.
"""

from __future__ import annotations

import ast
import math
import operator
from fractions import Fraction

from scheduler.errors import PermanentToolError

BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
          ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
FUNCS = {"sqrt": math.sqrt, "abs": abs, "round": round, "min": min, "max": max, "floor": math.floor, "ceil": math.ceil}


def _eval(node: ast.AST) -> Fraction | float:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return Fraction(str(node.value))
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and isinstance(right, Fraction) and right.denominator == 1 and abs(right) > 1000:
            raise PermanentToolError("exponent too large")
        try:
            return BINARY[type(node.op)](left, right)
        except ZeroDivisionError as exc:
            raise PermanentToolError("division by zero") from exc
    if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
        return UNARY[type(node.op)](_eval(node.operand))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCS and not node.keywords:
        args = [_eval(a) for a in node.args]
        if node.func.id in ("round",) and len(args) == 2:
            return Fraction(round(args[0], int(args[1])))
        value = FUNCS[node.func.id](*args)
        return Fraction(value) if isinstance(value, int) else value
    raise PermanentToolError(f"unsupported expression element: {ast.dump(node)[:80]}")


def format_number(value: Fraction | float) -> str:
    """Exact integers as integers, other values as a decimal with at most 10 places, no trailing zeros."""
    if isinstance(value, Fraction) and value.denominator == 1:
        return str(value.numerator)
    text = f"{float(value):.10f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def calculate(expression: str) -> str:
    try:
        tree = ast.parse(" ".join(expression.split()), mode="eval")
    except SyntaxError as exc:
        raise PermanentToolError(f"not an arithmetic expression: {exc.msg}") from exc
    return format_number(_eval(tree))
