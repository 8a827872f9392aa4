"""Plan parsing and the planner's honest fallback."""

from __future__ import annotations

from agents.planner import FALLBACK_PLANS, Planner, parse_plan


def test_parse_numbered_plan():
    text = "Sure!\n1. Read the numbers.\n2) Add them up\nStep 3: State the final answer.\nThanks"
    assert parse_plan(text) == ("Read the numbers.", "Add them up", "State the final answer.")


def test_final_answer_step_is_appended_when_missing():
    assert parse_plan("1. Read\n2. Add") == ("Read", "Add", "State the final answer.")


def test_invalid_plans_are_rejected():
    assert parse_plan("no list here") is None
    assert parse_plan("1. only one step") is None
    assert parse_plan("\n".join(f"{i}. step {i}" for i in range(1, 12))) is None  # too long
    assert parse_plan("1. a\n3. skipped two\n4. c") is None


def test_planner_falls_back_and_says_so(tiny_backend):
    plans, tokens = Planner(tiny_backend, max_new_tokens=24).plans("What is 2+3?", 3)
    assert len(plans) == 3 and tokens > 0
    for plan in plans:
        assert 3 <= len(plan.steps) <= 8
        if plan.source == "fallback":
            assert plan.steps in FALLBACK_PLANS


def test_a_plan_cut_off_by_the_budget_keeps_its_complete_steps():
    from agents.planner import complete_steps, finish_plan

    cut = '{"steps": ["Read the numbers.", "Add \\"3\\" and 4.", "Multiply the sum by 2.", "Chec'
    assert complete_steps(cut) == ["Read the numbers.", 'Add "3" and 4.', "Multiply the sum by 2."]
    assert finish_plan(complete_steps(cut))[-1] == "State the final answer."
    assert complete_steps('{"steps": ["One.", "Tw') == ["One."] and finish_plan(["One."]) is None  # too short: lost
    assert complete_steps('{"ste') == [] and complete_steps('{"steps": ["a", "b"]}') == ["a", "b"]


def test_constrained_drafts_under_a_tiny_budget_are_plans_or_none(tiny_backend):
    drafts, tokens, cut = Planner(tiny_backend, max_new_tokens=40).drafts("What is 2+3?", 3)
    assert len(drafts) == 3 and tokens > 0 and 0 <= cut <= 3
    assert all(d is None or 3 <= len(d) <= 8 for d in drafts)


def test_the_plan_grammar_leaves_room_for_the_appended_final_step():
    import json

    from jsonschema import Draft202012Validator

    from agents.planner import MAX_STEPS, finish_plan, plan_constraint

    schema = Draft202012Validator(json.loads(plan_constraint().source))
    longest = [f"Step number {i} of the work." for i in range(1, MAX_STEPS)]
    assert schema.is_valid({"steps": longest}) and not schema.is_valid({"steps": longest + ["One more step."]})
    assert len(finish_plan(longest)) == MAX_STEPS  # the final-answer step fits


def test_one_step_plans_are_written_whole_and_fall_back_to_one_step(tiny_backend):
    import json

    from jsonschema import Draft202012Validator

    from agents.planner import ONE_STEP_FALLBACKS, finish_plan, plan_constraint

    schema = Draft202012Validator(json.loads(plan_constraint(1, 1).source))
    assert schema.is_valid({"steps": ["Add the numbers."]})
    assert not schema.is_valid({"steps": []}) and not schema.is_valid({"steps": ["Add.", "Answer."]})
    # The one step is final by position: no "State the final answer." is appended after it.
    assert finish_plan(["Add the numbers."], 1, 1) == ("Add the numbers.",)
    assert finish_plan([], 1, 1) is None
    plans, _ = Planner(tiny_backend, max_new_tokens=24, min_steps=1, max_steps=1).plans("What is 2+3?", 3)
    assert len(plans) == 3 and all(len(p.steps) == 1 for p in plans)
    assert all(p.steps in ONE_STEP_FALLBACKS for p in plans if p.source == "fallback")


def test_a_plan_range_that_cannot_hold_is_refused(tiny_backend):
    import pytest

    with pytest.raises(ValueError, match="plan length"):
        Planner(tiny_backend, min_steps=3, max_steps=2)
    with pytest.raises(ValueError, match="plan length"):
        Planner(tiny_backend, min_steps=0, max_steps=1)
