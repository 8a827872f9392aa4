"""Tool-using rollouts on the tiny model: the tool's tokens are never trained, the trainer's log-probs of the
constrained turns equal the sampler's (mask replayed, same temperature), and a raising reward is refused and
counted without stopping the step."""

from __future__ import annotations

import pytest
import torch

from echo_sync.rollout import RolloutGroup, Sample, Turn
from echo_sync.settings import GRPOSettings


@pytest.fixture(scope="module")
def tiny(tiny_model):
    from agents.llm.transformers_backend import TransformersBackend

    torch.set_num_threads(1)
    return TransformersBackend(tiny_model, device="cpu", dtype="float32")


def trainer_for(tiny_model, tasks, **grpo):
    from echo_sync.trainer import GRPOTrainer, load_causal_lm

    model, tok = load_causal_lm(tiny_model)
    return GRPOTrainer(model, tok, GRPOSettings(**grpo), tasks, temperature=1.0)


def test_only_the_models_call_and_answer_are_trained_never_the_tool_result(tiny_model):
    from echo_sync.tool_tasks import ToolTaskSet

    tasks = ToolTaskSet("basic_arithmetic", size=4)
    trainer = trainer_for(tiny_model, tasks)
    tok = trainer.tokenizer
    eos = tok.eos_token_id
    call, answer = '{"arguments": {"expression": "2 + 3"}, "tool": "calculator"}', '{"answer": "5"}'
    call_ids = tok(call, add_special_tokens=False)["input_ids"] + [eos]
    answer_ids = tok(answer, add_special_tokens=False)["input_ids"] + [eos]
    messages = (*tasks.conversation(0), {"role": "assistant", "content": call},
                {"role": "user", "content": "Result of calculator: 5\nNow reply with the answer as JSON."},
                {"role": "assistant", "content": answer})
    sample = Sample(answer, tuple(answer_ids), "stop", messages, (Turn(2, tuple(call_ids)), Turn(4, tuple(answer_ids))))
    segments = trainer._segments(0, sample)
    assert len(segments) == 1  # call, tool turn and answer form one sequence
    seg = segments[0]
    targets = seg.tail[1:]
    trained = [t for t, on in zip(targets, seg.trained) if on]
    untrained = [t for t, on in zip(targets, seg.trained) if not on]
    assert trained == call_ids + answer_ids
    assert "Result of calculator: 5" in tok.decode(untrained)  # the tool's tokens are context only
    assert "Result of calculator" not in tok.decode(trained)
    assert sum(seg.trained) == trainer.trained_tokens(sample) == len(call_ids) + len(answer_ids)


def test_trainer_log_probs_of_constrained_turns_equal_the_samplers(tiny, tiny_model):
    """With the replayed constraint mask and the sampling temperature the trainer's policy is exactly the
    sampler's, token by token, so the importance weight is 1 and the sampler-trainer KL 0 at equal weights."""
    from agents.llm.base import SamplingParams
    from echo_sync.tool_tasks import ToolTaskSet

    tasks = ToolTaskSet("basic_arithmetic", "calculator", size=8)
    groups = tasks.rollouts(tiny, [0, 1], SamplingParams(max_new_tokens=40, temperature=0.7), 3)
    assert [len(g) for g in groups] == [3, 3]
    turns = [t for g in groups for s in g for t in s.turns]
    assert turns and all(t.constraint is not None and len(t.logprobs) == len(t.token_ids) for t in turns)
    assert any(t.constraint.name.startswith("ToolCall") for t in turns)
    trainer = trainer_for(tiny_model, tasks)
    trainer.temperature = 0.7
    segments = [seg for i, g in enumerate(groups) for s in g for seg in trainer._segments(i, s)]
    assert sum(sum(seg.trained) for seg in segments) == sum(len(t.token_ids) for t in turns)
    with torch.no_grad():
        for bucket in trainer._buckets(segments):
            logp, _ = trainer._target_logps(trainer.model, bucket)
            recorded = torch.tensor([x for seg in bucket for x in seg.behaviour])
            assert torch.allclose(logp, recorded, atol=1e-4)
    trainer.tasks = type("Rewarded", (), {"reward": staticmethod(lambda i, text, transcript=(): float(len(text) % 2)),
                                          "conversation": tasks.conversation})()
    stats = trainer.step([RolloutGroup(i, 1, "", "test", g) for i, g in enumerate(groups)])
    assert stats.refused_groups == 0 and stats.samples == 6


def test_log_probs_without_the_replayed_mask_would_differ(tiny, tiny_model):
    """The check above can fail: dropping the mask (the plain softmax) moves the trainer's log-probs away."""
    from agents.llm.base import SamplingParams
    from echo_sync.tool_tasks import ToolTaskSet

    tasks = ToolTaskSet("basic_arithmetic", "calculator", size=4)
    (group,) = tasks.rollouts(tiny, [0], SamplingParams(max_new_tokens=30, temperature=1.0), 2)
    trainer = trainer_for(tiny_model, tasks)
    segs = [seg for s in group for seg in trainer._segments(0, s)]
    with torch.no_grad():
        masked, _ = trainer._target_logps(trainer.model, segs[:1])
        for seg in segs[:1]:
            seg.allowed = [None] * len(seg.allowed)
        plain, _ = trainer._target_logps(trainer.model, segs[:1])
    recorded = torch.tensor(segs[0].behaviour)
    assert torch.allclose(masked, recorded, atol=1e-4)
    assert not torch.allclose(plain, recorded, atol=1e-3)


def test_a_reward_that_raises_refuses_its_group_and_is_counted(tiny_model):
    from echo_sync.tasks import TaskSet

    class Flaky(TaskSet):
        def reward(self, index, completion, transcript=()):
            if index == 1:
                raise RuntimeError("verifier crashed")
            return super().reward(index, completion, transcript)

    tasks = Flaky(("chain_sum",))
    trainer = trainer_for(tiny_model, tasks, learning_rate=1e-2)
    right = f"<answer>{tasks[0].answer}</answer>"
    good = RolloutGroup(0, 1, "", "t", (Sample(right, (5, 6, 7)), Sample("no", (8, 9))))
    bad = RolloutGroup(1, 1, "", "t", (Sample("x", (5,)), Sample("y", (6,))))
    stats = trainer.step([good, bad])
    assert stats.refused_groups == 1 and "task 1: reward raised RuntimeError: verifier crashed" in stats.refusals[0]
    assert stats.groups == 1 and stats.grad_norm > 0  # the good group still trained
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    only_bad = trainer.step([bad])
    assert only_bad.refused_groups == 1 and only_bad.groups == 0
    assert all(torch.equal(p, before[n]) for n, p in trainer.model.named_parameters())  # no step on nothing


def test_the_shaped_reward_scores_how_closely_the_call_copies_the_formula():
    import json

    from agents.tool_use.calculator_tool import formula_spans
    from echo_sync.tool_tasks import ToolTaskSet

    tasks = ToolTaskSet("basic_arithmetic", size=4, call_weight=0.5)
    prompt = tasks[0].prompt
    formula = formula_spans(prompt)[0]
    right = json.dumps({"answer": tasks[0].question.accepted[0]})

    def episode(expression):
        call = json.dumps({"tool": "calculator", "arguments": {"expression": expression}})
        return [{"role": "user", "content": prompt}, {"role": "assistant", "content": call}]

    assert tasks.copy_score(0, episode(formula)) == 1.0
    assert tasks.copy_score(0, episode(" ".join(formula.split()).replace(" ", ""))) == 1.0  # spacing is not copying
    garbled = tasks.copy_score(0, episode(formula[: len(formula) // 2] + " + 1000"))
    assert 0.0 < garbled < 1.0
    assert tasks.copy_score(0, [{"role": "user", "content": prompt}]) == 0.0  # no call
    assert tasks.copy_score(0, episode("")) < garbled
    assert tasks.reward(0, right, episode(formula)) == 1.5
    assert tasks.reward(0, '{"answer": "nonsense"}', episode(formula)) == 0.5
    assert ToolTaskSet("basic_arithmetic", size=4).reward(0, right, episode("1")) == 1.0  # no shaping by default
