"""Echo's verifier rewards read answers with the project's one extraction (tools.answers)."""

from __future__ import annotations

from echo_sync.tasks import TaskSet


def test_rewards_for_tagged_untagged_and_missing_answers() -> None:
    tasks = TaskSet(("chain_sum", "knights_knaves"), size=10)
    arithmetic, puzzle = tasks[0], tasks[1]
    assert tasks.reward(0, f"<answer>{arithmetic.answer}</answer>") == 1.1
    assert tasks.reward(0, f"Adding up gives {arithmetic.answer}") == 1.1  # numeric task: the last number counts
    assert tasks.reward(0, f"<answer>{arithmetic.answer}") == 1.1  # generation stopped at the closing tag
    assert tasks.reward(0, f"it is {arithmetic.answer}, no, <answer>{int(arithmetic.answer) + 1}</answer>") == 0.1
    assert tasks.reward(0, "no idea") == 0.0
    assert tasks.reward(1, f"<answer>{puzzle.answer}</answer>") == 1.1
    assert tasks.reward(1, f"Answer: {puzzle.answer}") == 1.1
    assert tasks.reward(1, "So the count is 3") == 0.0  # not a numeric task: a stray number is no answer
