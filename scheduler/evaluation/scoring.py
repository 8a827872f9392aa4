"""Exact-match scoring, GAIA style: compare normalised strings; numbers compare as numbers.

Why normalise: "1969\n", " 1969" and "1,969" are the same answer; "3.50" and "3.5" are the same number.
Nothing fuzzier than that — a wrong answer must score zero.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def normalise(text: str | None) -> str:
    if text is None:
        return ""
    value = text.strip().strip(".").replace(",", "") if _numeric(text) else " ".join(text.strip().lower().split())
    try:
        return format(Decimal(value).normalize(), "f")
    except InvalidOperation:
        return value


def _numeric(text: str) -> bool:
    stripped = text.strip().strip(".").replace(",", "")
    try:
        Decimal(stripped)
    except InvalidOperation:
        return False
    return True


def exact_match(prediction: str | None, answer: str) -> bool:
    return prediction is not None and normalise(prediction) == normalise(answer)
