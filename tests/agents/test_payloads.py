"""Beacon and result payload formats: round trips, size limits, and malformed input."""

from __future__ import annotations

import json

import pytest

from agents.payloads import PayloadError, ResultPayload, StepResult, SubtaskPayload


def test_subtask_round_trip():
    p = SubtaskPayload("What is 2+3?", ("Read", "Add", "Answer"), 2, (StepResult("Read", "2 and 3"), StepResult("Add", "5")), final=True)
    assert SubtaskPayload.decode(p.encode(8192)) == p
    assert p.step == "Answer"


def test_long_previous_results_are_shortened_to_fit():
    p = SubtaskPayload("q", ("a", "b", "c"), 2, (StepResult("a", "x" * 5000), StepResult("b", "y" * 5000)))
    data = p.encode(2048)
    assert len(data) <= 2048
    decoded = SubtaskPayload.decode(data)
    assert decoded.previous[0].result.startswith("x") and decoded.previous[1].result.startswith("y")


def test_payload_that_cannot_fit_is_refused():
    with pytest.raises(PayloadError, match="more than the beacon limit"):
        SubtaskPayload("q" * 5000, ("a", "b", "c"), 0).encode(1024)


@pytest.mark.parametrize("data", [b"\xff\xfe", b"not json", json.dumps({"v": 99}).encode(),
                                  json.dumps({"v": 1, "question": "q", "plan": ["a"], "step_index": 5}).encode()])
def test_malformed_subtasks(data):
    with pytest.raises(PayloadError):
        SubtaskPayload.decode(data)


def test_result_round_trip_and_truncation():
    r = ResultPayload("o" * 20000, answer="7", tools_used=("python",), tokens=12, seconds=0.5)
    data = r.encode(4096)
    assert len(data) <= 4096
    back = ResultPayload.decode(data)
    assert back.answer == "7" and back.tools_used == ("python",) and back.output.startswith("o")
    with pytest.raises(PayloadError):
        ResultPayload.decode(b"{}")
