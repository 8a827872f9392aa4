"""Exact-match scoring, GAIA style: the prediction and the expected answer must normalise to the same string.

Why the project's one normalisation (`tools.answers.normalize_answer`): "1969\n", " 1969" and "1,969" are the
same answer, "3.50" and "3.5" the same number, "North" and "north" the same word, exactly as Symphony's votes
compare answers. Nothing fuzzier than that normalisation — a wrong answer must score zero.
"""

from __future__ import annotations

from tools.answers import answers_equal


def exact_match(prediction: str | None, answer: str) -> bool:
    return answers_equal(prediction, answer)
