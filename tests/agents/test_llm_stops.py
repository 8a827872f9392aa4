"""Stop-string helpers on a real tokenizer: the cut keeps exactly the tokens up to the one completing the stop."""

from __future__ import annotations

from agents.llm.stops import first_stop, tokens_through_stop
from agents.llm.tiny import build_tiny_tokenizer


def test_first_stop_picks_the_earliest() -> None:
    assert first_stop("a </python> b STOP", ["STOP", "</python>"]) == 2
    assert first_stop("nothing", ["STOP", ""]) is None


def test_tokens_through_stop_is_minimal() -> None:
    tok = build_tiny_tokenizer()
    ids = tok("print(1)</python> and more text", add_special_tokens=False)["input_ids"]
    decode = lambda xs: tok.decode(list(xs))  # noqa: E731
    k = tokens_through_stop(ids, ["</python>"], decode)
    assert k is not None
    assert "</python>" in decode(ids[:k]) and "</python>" not in decode(ids[: k - 1])
    assert tokens_through_stop(ids, ["absent"], decode) is None
