"""Echo's configuration section.

Why one pydantic model: the same numbers drive the CLI, the local launcher, the benchmark and the tests, and
they cross process boundaries as JSON (trainer and sampler processes read the run's settings file), so they
must validate the same way everywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

Mode = Literal["sequential", "async", "colocated"]
STALE_POLICIES = ("drop", "requeue")


class GRPOSettings(BaseModel):
    """The optimisation recipe (GRPO, Shao et al. 2024) shared by every mode."""

    group_size: int = Field(4, ge=2, description="completions per prompt (G); advantages are relative within a group")
    groups_per_step: int = Field(4, ge=1, description="prompts per optimiser step")
    learning_rate: float = Field(1e-5, gt=0)
    clip_eps: float = Field(0.2, gt=0, lt=1)
    kl_beta: float = Field(0.0, ge=0, description="weight of the k3 KL estimate to the frozen initial policy; 0 = no reference model")
    normalize_std: bool = True
    loss_aggregation: Literal["token", "sequence"] = "token"
    max_grad_norm: float = Field(1.0, gt=0)
    micro_batch_size: int = Field(8, ge=1, description="sequences per forward/backward pass")
    is_cap: float = Field(
        2.0, ge=1.0, description="truncation C of the importance weight min(pi_trainer/pi_sampler, C) that corrects "
        "stale rollouts (AReaL's decoupled objective, verl's truncated IS)")


class LoRASettings(BaseModel):
    """The adapter a policy version is (policy "lora"): small enough to sync in milliseconds."""

    rank: int = Field(8, ge=1, le=256)
    alpha: float = Field(16.0, gt=0)
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")  # 3.7 MB for SmolLM2-135M at rank 8
    max_bytes: int = Field(64 * 1024 * 1024, ge=1024, description="samplers refuse adapter downloads larger than this")


class SamplingSettings(BaseModel):
    max_new_tokens: int = Field(24, ge=1)
    temperature: float = Field(1.0, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)


Tool = Literal["calculator", "calculator_schema"]


class TaskSettings(BaseModel):
    """Text rollouts (one turn, reasoning-gym `datasets`) unless `family` is set: then every rollout is a tool
    episode on that agents.datasets family (train seed SEEDS["echo_train"], held-out SEEDS["echo_heldout"])."""

    family: str | None = Field(None, description="agents.datasets family for tool-using rollouts, e.g. basic_arithmetic")
    tool: Tool = Field("calculator_schema", description="calculator (grounded in the question) or calculator_schema "
                       "(the tool's input schema only)")
    heldout_every: int = Field(0, ge=0, description="held-out accuracy every N optimiser steps (0: only before/after)")
    heldout_size: int = Field(0, ge=0, description="held-out questions (tool rollouts only; 0: no held-out evaluation)")
    datasets: tuple[str, ...] = ("chain_sum", "basic_arithmetic")
    seed: int = 1234
    size: int = Field(1000, ge=1, description="distinct tasks per dataset; the stream cycles through them")
    format_weight: float = Field(0.1, ge=0, le=1, description="reward for a parsable answer on top of the verifier's 0..1")
    call_weight: float = Field(0.0, ge=0, le=1, description="tool rollouts: reward for a call whose expression copies "
                               "the question's formula (similarity 0..1 × this) on top of the 0/1 answer")


class EchoSettings(BaseModel):
    """Everything one Echo run needs, apart from chain endpoints and keys (never stored in settings files)."""

    mode: Mode = "async"
    policy: Literal["lora", "full"] = Field("lora", description="a policy version is a LoRA adapter (default) or "
                                            "the full weights")
    model_path: str | None = Field(None, description="HF model folder; None = agents.llm.models.default_model_path()")
    steps: int = Field(4, ge=1)
    trainers: int = Field(1, ge=1, description="data-parallel trainer processes (torch.distributed)")
    samplers: int = Field(2, ge=0)
    max_staleness: int = Field(1, ge=0, description="S: a rollout from version v is usable while current - v <= S")
    stale_policy: Literal["drop", "requeue"] = "requeue"
    keep_versions: int = Field(
        8, ge=1, description="policy checkpoints the trainer keeps on disk (at least max_staleness + 2 are kept)"
    )
    buffer_capacity: int = Field(
        8, ge=1, description="replay buffer size in groups; samplers get no new tasks while it is full (back-pressure)"
    )
    wall_budget_s: float | None = Field(None, gt=0, description="stop training after this many seconds even if steps remain")
    run_dir: Path | None = Field(None, description="where weights, logs and summary.json go (none: a temporary folder)")
    torch_threads: int = Field(1, ge=1)
    pin_cpus: bool = Field(False, description="pin each process to one core (os.sched_setaffinity), round robin")
    grpo: GRPOSettings = GRPOSettings()
    lora: LoRASettings = LoRASettings()
    sampling: SamplingSettings = SamplingSettings()
    tasks: TaskSettings = TaskSettings()

    @model_validator(mode="after")
    def _check(self) -> "EchoSettings":
        if self.mode == "colocated":
            self.samplers = 0  # the trainer samples for itself
        elif self.samplers < 1:
            raise ValueError(f"mode {self.mode!r} needs at least one sampler")
        if self.grpo.groups_per_step % self.trainers:
            raise ValueError(
                f"groups_per_step ({self.grpo.groups_per_step}) must be a multiple of trainers ({self.trainers}) "
                "so every data-parallel rank gets whole groups"
            )
        return self
