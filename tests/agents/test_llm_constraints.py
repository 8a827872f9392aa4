"""Constrained decoding through the one LLM interface: what a constraint allows is all a model can emit.

The tiny random model samples near-uniformly from whatever the mask leaves, so it is the hardest test of the
constraint (a real model would mostly emit valid JSON anyway); the default model checks the real tokenizer.
"""

from __future__ import annotations

import json
import re
from typing import Literal

import pytest
import torch
from pydantic import BaseModel, Field, ValidationError

from agents.llm.base import Constraint, ConstraintError, SamplingParams
from agents.llm.constraints import replay_allowed, sampled_logprobs
from agents.llm.transformers_backend import TransformersBackend


class Step(BaseModel):
    agent: Literal["calculator", "librarian", "generalist"]
    instruction: str = Field(min_length=1, max_length=40)


class Plan(BaseModel):
    steps: list[Step] = Field(min_length=1, max_length=3)
    confidence: int = Field(ge=0, le=100)


CONVERSATION = [{"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": "What is 12 + 35?"}]


@pytest.fixture(scope="module")
def tiny(tiny_model_path):
    return TransformersBackend(tiny_model_path, device="cpu")


def test_json_schema_output_always_validates(tiny):
    params = SamplingParams(max_new_tokens=160, temperature=1.0, n=6, seed=3, constraint=Constraint.for_model(Plan))
    completions = tiny.generate([CONVERSATION, CONVERSATION[1:]], params).completions
    finished = [c for group in completions for c in group if c.finish_reason == "stop"]
    assert len(finished) >= 6  # most random walks through the grammar end within the budget
    for c in finished:
        Plan.model_validate_json(c.text)  # raises if the constraint let anything else through
    assert len({c.text for c in finished}) > 1  # sampling still chooses the content


def test_unconstrained_random_model_does_not_produce_the_schema(tiny):
    """The control for the test above: without the constraint the same sampling is not valid JSON."""
    params = SamplingParams(max_new_tokens=60, temperature=1.0, n=6, seed=3)
    for c in tiny.generate([CONVERSATION], params).completions[0]:
        with pytest.raises((ValidationError, ValueError)):
            Plan.model_validate_json(c.text)


def test_json_layout_is_fixed(tiny):
    params = SamplingParams(max_new_tokens=160, temperature=1.0, n=4, seed=5, constraint=Constraint.for_model(Plan))
    for c in tiny.generate([CONVERSATION], params).completions[0]:
        if c.finish_reason == "stop":
            assert c.text == json.dumps(json.loads(c.text), separators=(", ", ": "), ensure_ascii=False)


def test_regex_and_lark_constraints(tiny):
    number = Constraint.regex(r"-?[1-9][0-9]{0,3}", "number")
    for c in tiny.generate([CONVERSATION], SamplingParams(max_new_tokens=8, temperature=1.0, n=8, seed=1,
                                                          constraint=number)).completions[0]:
        assert c.finish_reason == "stop" and re.fullmatch(r"-?[1-9][0-9]{0,3}", c.text), c.text
    sums = Constraint.lark('start: NUM (" + " NUM)*\nNUM: /[0-9]{1,2}/', "sum")
    for c in tiny.generate([CONVERSATION], SamplingParams(max_new_tokens=24, temperature=1.0, n=8, seed=2,
                                                          constraint=sums)).completions[0]:
        if c.finish_reason == "stop":
            assert re.fullmatch(r"[0-9]{1,2}( \+ [0-9]{1,2})*", c.text), c.text


def test_greedy_constrained_decoding_is_deterministic(tiny):
    params = SamplingParams(max_new_tokens=120, constraint=Constraint.for_model(Plan), n=2)
    first = tiny.generate([CONVERSATION], params).completions[0]
    again = tiny.generate([CONVERSATION], params).completions[0]
    assert [c.text for c in first] == [c.text for c in again]


def test_a_budget_too_small_is_reported_as_length_not_as_an_answer(tiny):
    completion = tiny.generate([CONVERSATION], SamplingParams(max_new_tokens=3, constraint=Constraint.for_model(Plan))
                               ).completions[0][0]
    assert completion.finish_reason == "length"
    with pytest.raises(ValueError):
        Plan.model_validate_json(completion.text)


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        (Constraint.json_schema({"type": "frobnicate"}, "Broken"), "Broken"),
        (Constraint.json_schema({"type": "object", "properties": {"a": {"$ref": "#/nowhere"}}}, "Dangling"), "Dangling"),
        (Constraint.regex("a(b", "unclosed"), "unclosed"),
        (Constraint.lark("start: (", "badlark"), "badlark"),
    ],
)
def test_a_constraint_that_does_not_compile_is_a_clear_error(tiny, constraint, message):
    with pytest.raises(ConstraintError, match=message):
        tiny.generate([CONVERSATION], SamplingParams(max_new_tokens=4, constraint=constraint))


@pytest.mark.parametrize("temperature", [0.0, 0.7, 1.3])
def test_recorded_logprobs_are_those_a_trainer_recomputes(tiny, temperature):
    """Log-probs returned with the sample equal a fresh forward pass with the replayed constraint mask and the
    temperature: what Echo's trainer computes for the importance ratio (and, without the mask, they differ)."""
    constraint = Constraint.for_model(Plan)
    params = SamplingParams(max_new_tokens=60, temperature=temperature, seed=11, constraint=constraint, logprobs=True)
    completion = tiny.generate([CONVERSATION], params).completions[0][0]
    assert len(completion.logprobs) == completion.completion_tokens > 5
    prompt = tiny._encode_prompt(CONVERSATION)  # the same prompt ids the backend decoded from
    ids = torch.tensor([prompt + list(completion.token_ids)])
    with torch.no_grad():
        logits = tiny.model(input_ids=ids).logits[0, len(prompt) - 1 : -1]
    allowed = replay_allowed(tiny.constraint_compiler(), constraint, completion.token_ids)
    recomputed = sampled_logprobs(logits, allowed, temperature).gather(1, ids[0, len(prompt):, None]).squeeze(1)
    assert torch.allclose(recomputed, torch.tensor(completion.logprobs), atol=1e-4)
    unmasked = sampled_logprobs(logits, None, temperature).gather(1, ids[0, len(prompt):, None]).squeeze(1)
    assert not torch.allclose(unmasked, torch.tensor(completion.logprobs), atol=1e-3)


def test_replaying_a_foreign_completion_is_refused(tiny):
    text_ids = tiny.tokenizer("not json at all", add_special_tokens=False)["input_ids"]
    with pytest.raises(ConstraintError, match="not allowed"):
        replay_allowed(tiny.constraint_compiler(), Constraint.for_model(Plan), text_ids)


def test_default_model_writes_a_valid_tool_call(smollm):
    class Calc(BaseModel):
        expression: str = Field(pattern=r"^[0-9+\-*/(). ]{1,40}$")

    backend = TransformersBackend(smollm, device="cpu")
    conversation = [{"role": "system", "content": "Write the arithmetic expression of the question as JSON."},
                    {"role": "user", "content": "What is 12 + 35?"}]
    completion = backend.generate([conversation], SamplingParams(max_new_tokens=40, constraint=Constraint.for_model(Calc))
                                  ).completions[0][0]
    assert completion.finish_reason == "stop"
    assert Calc.model_validate_json(completion.text).expression.replace(" ", "") == "12+35"
