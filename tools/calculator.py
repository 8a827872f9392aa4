"""The calculator: one arithmetic expression evaluated exactly, in-process and safely (a whitelisted AST, no eval).

Why exact rational arithmetic: the expression usually comes from a model and the answer is compared exactly
(votes, exact-match scoring), so `0.1 + 0.2` must be 0.3, `10/4*2` must be 5 and `1e20` must be the integer
100000000000000000000. Integer and decimal literals (scientific notation included) become `Fraction`s taken
from the literal's text; only functions without exact results (sqrt of a non-square, log, sin, a non-integer
power, the constants pi/e/tau) fall back to floats.

Why the input conventions: models write `2^10`, `3 × 4 ÷ 2`, `−5` and `1,234`. `^` is power; a comma followed
by groups of exactly three digits is a thousands separator, except inside the parentheses of a function that
takes several arguments (`gcd(12,180)`, `round(x, 2)`), where commas separate the arguments.

Why the limits: expression length, nesting depth, exponent, factorial argument, round's digits and the
number of digits of every intermediate result are bounded, and comb/perm are size-checked before they run,
so no input can hang the caller or exhaust its memory. Every failure is a `CalculatorError`.

Formatting: exact integers as integers; anything else as a plain decimal (no exponent) rounded to 12
significant digits, without trailing zeros, and "-0" as "0" (`1/3` -> "0.333333333333", `log(8, 2)` -> "3").
"""

from __future__ import annotations

import ast
import math
import operator
import re
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Callable

from pydantic import BaseModel, Field

from tools.errors import PermanentToolError

__all__ = ["CalculatorError", "CalculatorInput", "CalculatorOutput", "calculate", "evaluate", "format_number"]

MAX_EXPRESSION_CHARS = 1000
MAX_DEPTH = 100
MAX_DIGITS = 3000
MAX_EXPONENT = 10_000
MAX_FACTORIAL = 1000
MAX_ROUND_DIGITS = 100
SIGNIFICANT_DIGITS = 12
_MAX_BITS = math.ceil(MAX_DIGITS * math.log2(10))

Number = Fraction | float


class CalculatorError(PermanentToolError):
    """The expression is not plain arithmetic, is undefined (1/0, sqrt(-1)) or would be too expensive."""


class CalculatorInput(BaseModel):
    expression: str = Field(
        min_length=1,
        max_length=MAX_EXPRESSION_CHARS,
        description="one arithmetic expression, e.g. '(3 + 4) * 2 / 7', '2^10', 'sqrt(2)', 'comb(10, 3)', '1,234 + 1'",
    )


class CalculatorOutput(BaseModel):
    value: str = Field(description="the result: an exact integer, or a decimal with at most 12 significant digits")


def calculate(expression: str) -> str:
    """The formatted value of `expression`; raises CalculatorError."""
    return format_number(evaluate(expression))


def evaluate(expression: str) -> Number:
    """The exact (Fraction) or floating-point value of `expression`; raises CalculatorError."""
    if not isinstance(expression, str):
        raise CalculatorError(f"the expression must be text, got {type(expression).__name__}")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise CalculatorError(f"expression longer than {MAX_EXPRESSION_CHARS} characters")
    text = " ".join(expression.translate(_SYMBOLS).split()).replace("^", "**")
    if not text:
        raise CalculatorError("empty expression")
    text = _drop_thousands_separators(text)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise CalculatorError(f"not an arithmetic expression: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError):
        raise CalculatorError("not an arithmetic expression: too complex or invalid characters") from None
    return _eval(tree.body, text, 0)


def format_number(value: Number) -> str:
    """Exact integers as integers, other values as a plain decimal with at most 12 significant digits."""
    if isinstance(value, Fraction) and value.denominator == 1:
        return str(value.numerator)
    with localcontext() as ctx:
        ctx.prec = SIGNIFICANT_DIGITS
        if isinstance(value, Fraction):
            rounded = Decimal(value.numerator) / Decimal(value.denominator)
        else:
            rounded = +Decimal(value)
        return format(rounded.normalize(), "f")  # plus() turns -0 into 0, so "-0" never comes out


# --- input conventions --------------------------------------------------------------------------------------

_SYMBOLS = str.maketrans({"×": "*", "÷": "/", "−": "-"})
_GROUPED = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?!\d|,\d)")
_CALLEE = re.compile(r"([A-Za-z_]\w*)\s*$")


def _drop_thousands_separators(text: str) -> str:
    """'1,234' -> '1234' wherever a comma cannot be separating the arguments of a multi-argument function."""
    out: list[str] = []
    separates_arguments: list[bool] = []  # one entry per open parenthesis
    i = 0
    while i < len(text):
        char = text[i]
        if char == "(":
            callee = _CALLEE.search(text, 0, i)
            separates_arguments.append(callee is not None and callee.group(1) not in _ONE_ARGUMENT)
        elif char == ")" and separates_arguments:
            separates_arguments.pop()
        elif char.isdigit() and not (separates_arguments and separates_arguments[-1]):
            grouped = _GROUPED.match(text, i)
            if grouped:
                out.append(grouped.group().replace(",", ""))
                i = grouped.end()
                continue
        out.append(char)
        i += 1
    return "".join(out)


# --- evaluation ---------------------------------------------------------------------------------------------

_BINARY: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}


def _eval(node: ast.AST, source: str, depth: int) -> Number:
    if depth > MAX_DEPTH:
        raise CalculatorError(f"expression nested deeper than {MAX_DEPTH} levels")
    if isinstance(node, ast.Constant):
        return _literal(node, source)
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise CalculatorError(f"unknown name {node.id!r} (constants: {', '.join(_CONSTANTS)})")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _eval(node.operand, source, depth + 1)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and (isinstance(node.op, ast.Pow) or type(node.op) in _BINARY):
        left, right = _eval(node.left, source, depth + 1), _eval(node.right, source, depth + 1)
        if isinstance(node.op, ast.Pow):
            return _power(left, right)
        return _apply(_BINARY[type(node.op)], "arithmetic", left, right)
    if isinstance(node, ast.Call):
        return _call(node, source, depth)
    if isinstance(node, ast.Tuple):
        raise CalculatorError("a comma outside a function's arguments: write thousands as 1,234 (groups of three digits)")
    raise CalculatorError(f"unsupported element {_snippet(node)!r}: only numbers, + - * / // % ^, parentheses and math functions")


def _literal(node: ast.Constant, source: str) -> Fraction:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CalculatorError(f"unsupported literal {_snippet(node)!r}: only real numbers")
    if isinstance(value, int):
        return _checked(Fraction(value))
    text = ast.get_source_segment(source, node) or repr(value)
    decimal = Decimal(text)  # exact: from the literal's text, not from the rounded float
    if not decimal.is_finite() or abs(decimal.adjusted()) > MAX_DIGITS:
        raise CalculatorError(f"number {text[:40]!r} has an exponent beyond ±{MAX_DIGITS}")
    return _checked(Fraction(decimal))


def _power(base: Number, exponent: Number) -> Number:
    if isinstance(exponent, Fraction) and exponent.denominator == 1:
        n = exponent.numerator
        if abs(n) > MAX_EXPONENT:
            raise CalculatorError(f"exponent larger than {MAX_EXPONENT}")
        if isinstance(base, Fraction):
            size = max(base.numerator.bit_length(), base.denominator.bit_length())
            if (size - 1) * abs(n) > _MAX_BITS:
                raise CalculatorError(f"result has more than {MAX_DIGITS} digits")
            return _apply(operator.pow, "power", base, n)
        return _apply(operator.pow, "power", base, n)
    return _apply(operator.pow, "power", _real(base), _real(exponent))


def _apply(function: Callable[..., object], name: str, *args: object) -> Number:
    """Run one operation, turning Python's arithmetic exceptions into CalculatorErrors and checking the size."""
    try:
        result = function(*args)
    except ZeroDivisionError:
        raise CalculatorError("division by zero") from None
    except OverflowError:
        raise CalculatorError(f"{name}: result too large") from None
    except (ValueError, TypeError) as exc:
        raise CalculatorError(f"{name}: {exc}") from None
    return _checked(result)


def _checked(value: object) -> Number:
    """Normalise a result to Fraction | finite float, refusing anything too large or not real."""
    if isinstance(value, bool):
        raise CalculatorError("comparisons are not arithmetic")
    if isinstance(value, int):
        value = Fraction(value)
    if isinstance(value, Fraction):
        if max(value.numerator.bit_length(), value.denominator.bit_length()) > _MAX_BITS:
            raise CalculatorError(f"result has more than {MAX_DIGITS} digits")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CalculatorError("result is too large or not a number")
        return value
    if isinstance(value, complex):
        raise CalculatorError("result is not a real number")
    raise CalculatorError(f"unsupported value {value!r}")


def _real(value: Number) -> float | int:
    """The argument for a float function: an exact integer stays an int (math handles big ints), else a float."""
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return value.numerator
        try:
            return float(value)
        except OverflowError:
            raise CalculatorError("number too large for this function") from None
    return value


def _integer(name: str, value: Number) -> int:
    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise CalculatorError(f"{name} needs integer arguments, got {format_number(value)}")


# --- functions ----------------------------------------------------------------------------------------------


def _sqrt(x: Number) -> Number:
    if isinstance(x, Fraction) and x >= 0:
        num, den = math.isqrt(x.numerator), math.isqrt(x.denominator)
        if num * num == x.numerator and den * den == x.denominator:
            return Fraction(num, den)  # exact for perfect squares: sqrt(16) = 4, sqrt(9/4) = 3/2
    return math.sqrt(_real(x))


def _log(x: Number, base: Number | None = None) -> float:
    return math.log(_real(x)) if base is None else math.log(_real(x), _real(base))


def _round(x: Number, digits: Number | None = None) -> Number:
    if digits is None:
        return round(x)
    n = _integer("round", digits)
    if abs(n) > MAX_ROUND_DIGITS:
        raise CalculatorError(f"round: at most {MAX_ROUND_DIGITS} digits")
    return round(x, n)


def _factorial(x: Number) -> int:
    n = _integer("factorial", x)
    if n > MAX_FACTORIAL:
        raise CalculatorError(f"factorial argument larger than {MAX_FACTORIAL}")
    return math.factorial(n)


def _bits_of_ratio_of_factorials(top: int, *bottom: int) -> float:
    """log2(top! / prod(bottom!)), to refuse comb/perm results that are too large before computing them."""
    return (math.lgamma(top + 1) - sum(math.lgamma(b + 1) for b in bottom)) / math.log(2)


def _comb(n_value: Number, k_value: Number) -> int:
    n, k = _integer("comb", n_value), _integer("comb", k_value)
    if 0 <= k <= n and _bits_of_ratio_of_factorials(n, k, n - k) > _MAX_BITS:
        raise CalculatorError(f"result has more than {MAX_DIGITS} digits")
    return math.comb(n, k)


def _perm(n_value: Number, k_value: Number | None = None) -> int:
    n = _integer("perm", n_value)
    k = n if k_value is None else _integer("perm", k_value)
    if 0 <= k <= n and _bits_of_ratio_of_factorials(n, n - k) > _MAX_BITS:
        raise CalculatorError(f"result has more than {MAX_DIGITS} digits")
    return math.perm(n, k)


def _fold(name: str, pairwise: Callable[[int, int], int]) -> Callable[..., Number]:
    """gcd/lcm of any number of integers, size-checked after every step."""

    def fold(*values: Number) -> Number:
        result: Number = Fraction(0 if name == "gcd" else 1)
        for value in values:
            result = _checked(pairwise(_integer(name, result), _integer(name, value)))
        return result

    return fold


def _float_function(function: Callable[[float], float]) -> Callable[[Number], float]:
    return lambda x: function(_real(x))


# name -> (implementation, fewest arguments, most arguments or None for any number)
_FUNCTIONS: dict[str, tuple[Callable[..., object], int, int | None]] = {
    "sqrt": (_sqrt, 1, 1),
    "log": (_log, 1, 2),
    "log2": (_float_function(math.log2), 1, 1),
    "log10": (_float_function(math.log10), 1, 1),
    "exp": (_float_function(math.exp), 1, 1),
    "sin": (_float_function(math.sin), 1, 1),
    "cos": (_float_function(math.cos), 1, 1),
    "tan": (_float_function(math.tan), 1, 1),
    "asin": (_float_function(math.asin), 1, 1),
    "acos": (_float_function(math.acos), 1, 1),
    "atan": (_float_function(math.atan), 1, 1),
    "abs": (abs, 1, 1),
    "round": (_round, 1, 2),
    "floor": (math.floor, 1, 1),
    "ceil": (math.ceil, 1, 1),
    "factorial": (_factorial, 1, 1),
    "comb": (_comb, 2, 2),
    "perm": (_perm, 1, 2),
    "gcd": (_fold("gcd", math.gcd), 1, None),
    "lcm": (_fold("lcm", math.lcm), 1, None),
    "min": (min, 1, None),
    "max": (max, 1, None),
}
_ONE_ARGUMENT = frozenset(name for name, (_, _, most) in _FUNCTIONS.items() if most == 1)


def _call(node: ast.Call, source: str, depth: int) -> Number:
    if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
        name = node.func.id if isinstance(node.func, ast.Name) else _snippet(node.func)
        raise CalculatorError(f"unknown function {name!r} (known: {', '.join(_FUNCTIONS)})")
    name = node.func.id
    function, fewest, most = _FUNCTIONS[name]
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise CalculatorError(f"{name}: only positional arguments are supported")
    if not fewest <= len(node.args) <= (most if most is not None else len(node.args)):
        expected = str(fewest) if fewest == most else f"{fewest} to {most}" if most else f"at least {fewest}"
        raise CalculatorError(f"{name} takes {expected} argument(s), got {len(node.args)}")
    args = [_eval(a, source, depth + 1) for a in node.args]
    return _apply(function, name, *args)


def _snippet(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."
