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


def test_step_payload_rebuilds_each_step_from_the_chain_template():
    """A chain is posted with one template; step i's executor gets the plan's step i and the earlier results."""
    from agents.payloads import ResultPayload, step_payload

    plan = ("Read the numbers", "Add them", "State the final answer")
    template = SubtaskPayload("What is 12 + 35?", plan, 0).encode(8192)
    earlier = (ResultPayload(output="12 and 35").encode(), ResultPayload(output="12 + 35 = 47", answer="47").encode())
    last = SubtaskPayload.decode(step_payload(template, 2, 3, earlier, 8192))
    assert last.step == "State the final answer" and last.final
    assert [p.result for p in last.previous] == ["12 and 35", "47"]  # the answer if there is one, else the output
    first = SubtaskPayload.decode(step_payload(template, 0, 3, (), 8192))
    assert first.previous == () and not first.final
    assert step_payload(b'{"kind":"hideshill.detect"}', 0, 1, (), 8192) == b'{"kind":"hideshill.detect"}'  # opaque: as is
    garbled = SubtaskPayload.decode(step_payload(template, 1, 3, (b"\xffnot json",), 8192))
    assert garbled.previous[0].result.endswith("not json")  # a malformed earlier result is shown as text
