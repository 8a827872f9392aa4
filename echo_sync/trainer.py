"""The training swarm's worker: a full fine-tune GRPO step on a batch of rollout groups, data-parallel.

Why manual gradient all-reduce instead of DistributedDataParallel: each rank divides its loss by the *global*
token (or sequence) count, so summing gradients over ranks gives exactly the single-process gradient whatever
the split — a property the tests check — and uneven micro-batches never deadlock DDP's bucket hooks.
gloo on CPU, NCCL when the model lives on CUDA.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import torch

from agents.llm.transformers_backend import encode_chat
from echo_sync.grpo import group_advantages, grpo_loss, pack, token_logprobs
from echo_sync.rollout import RolloutGroup
from echo_sync.settings import GRPOSettings
from echo_sync.tasks import TaskSet


@dataclass(frozen=True)
class StepStats:
    step: int
    groups: int
    samples: int
    completion_tokens: int
    reward_mean: float
    loss: float
    pg_loss: float
    kl: float
    clip_fraction: float
    grad_norm: float
    seconds: float

    def to_json(self) -> dict:
        return asdict(self)


def load_causal_lm(model_path: str | Path, device: str = "cpu"):
    """(model, tokenizer) in float32 for training; float32 because CPU bf16 training is slow and lossy."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_path))
    model = AutoModelForCausalLM.from_pretrained(str(model_path), dtype=torch.float32).to(device)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


class GRPOTrainer:
    """Owns the policy, its optimiser and (if kl_beta > 0) a frozen reference copy."""

    def __init__(self, model, tokenizer, settings: GRPOSettings, tasks: TaskSet, rank: int = 0, world_size: int = 1):
        self.model, self.tokenizer, self.settings, self.tasks = model, tokenizer, settings, tasks
        self.rank, self.world_size = rank, world_size
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.params, lr=settings.learning_rate, weight_decay=0.0)
        self.reference = None
        if settings.kl_beta > 0:
            self.reference = copy.deepcopy(model).eval()
            for p in self.reference.parameters():
                p.requires_grad_(False)
        self.steps_done = 0
        self._prompt_cache: dict[int, list[int]] = {}

    def prompt_ids(self, task_index: int) -> list[int]:
        if task_index not in self._prompt_cache:
            self._prompt_cache[task_index] = encode_chat(self.tokenizer, self.tasks.conversation(task_index))
        return self._prompt_cache[task_index]

    def completion_ids(self, sample) -> list[int]:
        if sample.token_ids:
            return list(sample.token_ids)
        return list(self.tokenizer(sample.text, add_special_tokens=False)["input_ids"])

    def score(self, groups: Sequence[RolloutGroup]) -> torch.Tensor:
        """Rewards [groups, G], computed here (not trusted from samplers) with the trainer's own verifiers."""
        sizes = {len(g.samples) for g in groups}
        if len(sizes) != 1:
            raise ValueError(f"all groups in a batch need the same size, got {sorted(sizes)}")
        return torch.tensor([[self.tasks.reward(g.task_index, s.text) for s in g.samples] for g in groups])

    def step(self, groups: Sequence[RolloutGroup]) -> StepStats:
        """One optimiser step on the whole batch; this rank trains on groups[rank::world_size]."""
        start = time.perf_counter()
        rewards = self.score(groups)
        advantages = group_advantages(rewards, self.settings.normalize_std)
        mine = list(range(self.rank, len(groups), self.world_size))
        prompts, completions, advs = [], [], []
        for gi in mine:
            for si, sample in enumerate(groups[gi].samples):
                prompts.append(self.prompt_ids(groups[gi].task_index))
                completions.append(self.completion_ids(sample))
                advs.append(advantages[gi, si].item())
        # Global normaliser: total completion tokens (token aggregation) or sequences over all ranks.
        tokens_all = sum(max(len(self.completion_ids(s)), 0) for g in groups for s in g.samples)
        seqs_all = sum(len(g.samples) for g in groups)
        normaliser = float(max(tokens_all, 1)) if self.settings.loss_aggregation == "token" else float(seqs_all)

        self.model.train()
        self.optimizer.zero_grad(set_to_none=False)
        totals = {"loss": 0.0, "pg": 0.0, "kl": 0.0, "clip": 0.0}
        mb = self.settings.micro_batch_size
        n_mb = 0
        for lo in range(0, len(prompts), mb):
            batch = pack(prompts[lo : lo + mb], completions[lo : lo + mb], self.tokenizer.pad_token_id)
            adv = torch.tensor(advs[lo : lo + mb], dtype=torch.float32)
            logp = token_logprobs(self.model, batch)
            # One optimiser step per batch: the proximal ("old") policy is the current one, so ratios start at
            # 1 and the clip only bites if a batch is reused; staleness is bounded by S instead (see docs/echo.md).
            old = logp.detach()
            ref = None
            if self.reference is not None:
                with torch.no_grad():
                    ref = token_logprobs(self.reference, batch)
            parts = grpo_loss(
                logp, old, adv, batch.completion_mask, self.settings.clip_eps, ref, self.settings.kl_beta,
                self.settings.loss_aggregation, normaliser,
            )
            parts.loss.backward()
            totals["loss"] += parts.loss.item()
            totals["pg"] += parts.pg_loss
            totals["kl"] += parts.kl
            totals["clip"] += parts.clip_fraction
            n_mb += 1
        self._all_reduce_grads()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, self.settings.max_grad_norm).item()
        self.optimizer.step()
        self.model.eval()
        self.steps_done += 1
        loss_sum = self._sum_scalar(totals["loss"])
        return StepStats(
            step=self.steps_done,
            groups=len(groups),
            samples=seqs_all,
            completion_tokens=tokens_all,
            reward_mean=rewards.mean().item(),
            loss=loss_sum,
            pg_loss=self._sum_scalar(totals["pg"]),
            kl=self._sum_scalar(totals["kl"]),
            clip_fraction=totals["clip"] / max(n_mb, 1),
            grad_norm=grad_norm,
            seconds=time.perf_counter() - start,
        )

    def _all_reduce_grads(self) -> None:
        if self.world_size == 1:
            return
        import torch.distributed as dist

        for p in self.params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        flat = torch.cat([p.grad.reshape(-1) for p in self.params])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        offset = 0
        for p in self.params:
            n = p.numel()
            p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
            offset += n

    def _sum_scalar(self, value: float) -> float:
        if self.world_size == 1:
            return value
        import torch.distributed as dist

        t = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t.item()
