"""One rank of the data-parallel equivalence test (run as a script by test_trainer.py)."""

from __future__ import annotations

import sys

import torch


def fixed_batch(tasks):
    """Four groups of four with mixed right/wrong answers, so advantages are non-zero."""
    from echo_sync.rollout import RolloutGroup, Sample

    groups = []
    for t in range(4):
        answer = tasks[t].answer
        texts = [f"<answer>{answer}</answer>", "no idea", f"<answer>{answer}</answer>", "<answer>wrong</answer>"]
        samples = tuple(Sample(x, tuple((7 * t + 3 * i + k) % 400 + 5 for k in range(3 + i))) for i, x in enumerate(texts))
        groups.append(RolloutGroup(t, 1, "00" * 32, "test", samples))
    return groups


def main(model: str, rank: int, world: int, port: int, out: str | None) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    import torch.distributed as dist

    from echo_sync.settings import GRPOSettings
    from echo_sync.tasks import TaskSet
    from echo_sync.trainer import GRPOTrainer, load_causal_lm

    if world > 1:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    m, tok = load_causal_lm(model)
    tasks = TaskSet(("chain_sum", "basic_arithmetic"))
    trainer = GRPOTrainer(m, tok, GRPOSettings(learning_rate=1e-3, micro_batch_size=3), tasks, rank, world)
    # Plain SGD for the comparison: Adam's first steps are ~lr*sign(grad), which turns float rounding noise in
    # near-zero gradients into lr-sized differences; SGD keeps the check about the all-reduced gradient itself.
    trainer.optimizer = torch.optim.SGD(trainer.params, lr=0.5)
    stats = [trainer.step(fixed_batch(tasks)) for _ in range(2)]
    result = {"params": {k: v.detach().clone() for k, v in m.state_dict().items()}, "loss": [s.loss for s in stats],
              "grad_norm": [s.grad_norm for s in stats]}
    if out:
        torch.save(result, out)
    if world > 1:
        dist.destroy_process_group()
    return result


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
