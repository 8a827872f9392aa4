"""Cutting a completion at the first stop string, keeping its text and token ids consistent.

Why: callers (tool loops, answer extraction) use stop strings like "</python>"; like vLLM and the OpenAI API
the returned text excludes the stop string, while token_ids keep every token the model actually sampled up
to and including the one that completed the stop string (that is what GRPO must score).
"""

from __future__ import annotations

from typing import Callable, Sequence


def first_stop(text: str, stops: Sequence[str]) -> int | None:
    """Index in `text` where the earliest stop string begins, or None."""
    hits = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return min(hits) if hits else None


def tokens_through_stop(
    token_ids: Sequence[int], stops: Sequence[str], decode: Callable[[Sequence[int]], str]
) -> int | None:
    """Smallest k such that decode(token_ids[:k]) contains a stop string, or None.

    Binary search: once a prefix contains a stop string every longer prefix does too.
    """
    if first_stop(decode(token_ids), stops) is None:
        return None
    lo, hi = 1, len(token_ids)
    while lo < hi:
        mid = (lo + hi) // 2
        if first_stop(decode(token_ids[:mid]), stops) is None:
            lo = mid + 1
        else:
            hi = mid
    return lo
