"""JSON from outside the process (chain payloads, HTTP bodies, tool results): strict, bounded, one error type.

Why not `json.loads` directly: it accepts NaN and Infinity (which `int()` then turns into OverflowError), and it
recurses once per nesting level, so a 64 kB payload of "[" exhausts the stack — or, where a library raised the
recursion limit (py_ecc, imported with web3, sets 100000), crashes the interpreter outright. Every caller that
decodes what a peer sent must fail with its own error and a reason instead. The nesting is measured before
parsing, in one pass that skips strings.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text`, brackets inside strings not counted."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def loads(data: str | bytes, error: type[Exception], what: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of `data`, or `error("<what>: <reason>")`: invalid UTF-8, invalid JSON, NaN/Infinity, an
    integer longer than Python converts (4300 digits), or nesting deeper than `max_depth`."""
    try:
        text = data.decode() if isinstance(data, (bytes, bytearray)) else data
        if not isinstance(text, str):
            raise TypeError(f"expected text, got {type(text).__name__}")
        if nesting_depth(text) > max_depth:
            raise ValueError(f"nested deeper than {max_depth} levels")
        return json.loads(text, parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError, ValueError, RecursionError) as exc:
        raise error(f"{what}: {exc}") from None


def loads_object(data: str | bytes, error: type[Exception], what: str, *, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """As `loads`, and the value must be a JSON object."""
    value = loads(data, error, what, max_depth=max_depth)
    if not isinstance(value, dict):
        raise error(f"{what}: expected a JSON object, got {type(value).__name__}")
    return value
