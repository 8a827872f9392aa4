"""The GRPO trainer on the tiny model: it learns from advantages, and 2 gloo ranks equal 1 process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core.processes import free_port

WORKER = Path(__file__).with_name("dp_worker.py")


def run_ranks(model: Path, world: int, out_dir: Path) -> list[dict]:
    port = free_port()
    outs = [out_dir / f"w{world}-r{r}.pt" for r in range(world)]
    procs = [
        subprocess.Popen([sys.executable, str(WORKER), str(model), str(r), str(world), str(port), str(outs[r])])
        for r in range(world)
    ]
    for p in procs:
        assert p.wait(timeout=240) == 0
    return [torch.load(o) for o in outs]


def test_two_gloo_ranks_match_a_single_process(tiny_model, tmp_path):
    r0, r1 = run_ranks(tiny_model, 2, tmp_path)
    sys.path.insert(0, str(WORKER.parent))
    try:
        from dp_worker import main as single_process
    finally:
        sys.path.pop(0)
    single = single_process(str(tiny_model), 0, 1, 0, None)
    for name, value in single["params"].items():
        # ranks stay bit-identical to each other (same summed gradient), and match the single process
        assert torch.equal(r0["params"][name], r1["params"][name]), name
        assert torch.allclose(r0["params"][name], value, atol=1e-5, rtol=1e-4), name
    assert r0["loss"] == pytest.approx(single["loss"], rel=1e-4, abs=1e-6)
    assert r0["grad_norm"] == pytest.approx(single["grad_norm"], rel=1e-4)
    assert single["grad_norm"][0] > 0  # the batch carries signal, so equal params are not a trivial no-op


def test_a_step_moves_the_policy_towards_rewarded_completions(tiny_model):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    sys.path.insert(0, str(WORKER.parent))
    try:
        from dp_worker import fixed_batch
    finally:
        sys.path.pop(0)
    from echo_sync.grpo import pack, token_logprobs
    from echo_sync.settings import GRPOSettings
    from echo_sync.tasks import TaskSet
    from echo_sync.trainer import GRPOTrainer, load_causal_lm

    model, tok = load_causal_lm(tiny_model)
    tasks = TaskSet(("chain_sum", "basic_arithmetic"))
    trainer = GRPOTrainer(model, tok, GRPOSettings(learning_rate=3e-3), tasks)
    batch = fixed_batch(tasks)
    good = [s for g in batch for i, s in enumerate(g.samples) if i in (0, 2)]
    bad = [s for g in batch for i, s in enumerate(g.samples) if i in (1, 3)]
    prompts = [trainer.prompt_ids(g.task_index) for g in batch for _ in (0, 1)]

    def mean_logp(samples):
        with torch.no_grad():
            b = pack(prompts, [list(s.token_ids) for s in samples], tok.pad_token_id)
            lp = token_logprobs(model, b)
            return ((lp * b.completion_mask).sum() / b.completion_mask.sum()).item()

    before_good, before_bad = mean_logp(good), mean_logp(bad)
    for _ in range(3):
        stats = trainer.step(batch)
    assert stats.grad_norm > 0 and stats.step == 3
    assert stats.reward_mean == pytest.approx((1.1 + 0 + 1.1 + 0.1) / 4)
    # rewarded completions became more likely, punished ones less likely
    assert mean_logp(good) - before_good > 0.01
    assert mean_logp(bad) - before_bad < -0.01


def test_groups_of_different_sizes_are_refused(tiny_model):
    from echo_sync.rollout import RolloutGroup, Sample
    from echo_sync.settings import GRPOSettings
    from echo_sync.tasks import TaskSet
    from echo_sync.trainer import GRPOTrainer, load_causal_lm

    model, tok = load_causal_lm(tiny_model)
    trainer = GRPOTrainer(model, tok, GRPOSettings(), TaskSet(("chain_sum",)))
    s = Sample("x", (5,))
    with pytest.raises(ValueError, match="same size"):
        trainer.step([RolloutGroup(0, 1, "", "t", (s, s)), RolloutGroup(1, 1, "", "t", (s, s, s))])
