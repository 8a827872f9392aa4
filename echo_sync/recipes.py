"""The one recipe the specialists and the benchmark's parity runs share (SmolLM2-135M on a 2-core CPU).

Why in one place: `scripts/train_specialists.py` trains each specialist with it and `scripts/bench_echo.py`
compares the modes with it, so a specialist's co-located training run *is* a valid co-located run of the
benchmark (same settings, checked field by field) and the CPU is not spent twice on identical work.
"""

from __future__ import annotations

from echo_sync.settings import EchoSettings, Mode

SPECIALISTS: dict[str, dict] = {
    # name -> task settings. Both drive the calculator by its schema only (no grounding, no worked example):
    # untrained, SmolLM2-135M writes prose, commas and made-up numbers into the expression, so tool use is the
    # bottleneck that GRPO can move (with the grounded calculator it is already ~90 % right).
    "arithmetic-calculator": {"family": "basic_arithmetic", "tool": "calculator_schema"},
    "chainsum-calculator": {"family": "chain_sum", "tool": "calculator_schema"},
}


def recipe(name: str, mode: Mode = "colocated", *, steps: int = 100, heldout_size: int = 40, heldout_every: int = 50,
           samplers: int = 1, seed: int = 7) -> EchoSettings:
    if name not in SPECIALISTS:
        raise KeyError(f"unknown specialist {name!r}; known: {', '.join(SPECIALISTS)}")
    return EchoSettings(
        mode=mode,
        policy="lora",
        steps=steps,
        trainers=1,
        samplers=0 if mode == "colocated" else samplers,
        max_staleness=1,
        stale_policy="requeue",
        buffer_capacity=2,  # one batch ahead of the trainer: more would only go stale
        torch_threads=1,
        pin_cpus=False,  # a shared box: pinning to a core another job is using only slows a process down
        grpo={"group_size": 4, "groups_per_step": 1, "learning_rate": 2e-4, "micro_batch_size": 4, "is_cap": 2.0},
        lora={"rank": 8, "alpha": 16.0},
        sampling={"max_new_tokens": 28, "temperature": 1.0},
        tasks={**SPECIALISTS[name], "seed": seed, "heldout_size": heldout_size, "heldout_every": heldout_every,
               "call_weight": 0.5},  # see echo_sync.tool_tasks: without it nearly every group has no variance
    )
