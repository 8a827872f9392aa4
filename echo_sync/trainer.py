"""The training swarm's worker: a GRPO step on a batch of rollout groups (LoRA adapter or full fine-tune),
data-parallel.

Why manual gradient all-reduce instead of DistributedDataParallel: each rank divides its loss by the *global*
token (or sequence) count, so summing gradients over ranks gives exactly the single-process gradient whatever
the split — a property the tests check — and uneven micro-batches never deadlock DDP's bucket hooks.
gloo on CPU, NCCL when the model lives on CUDA.

How a rollout becomes trained tokens (`_segments`): each model turn's context is re-encoded from the transcript
with the sampler's own `encode_chat`; a turn whose context extends the previous turn's sequence is appended to
it, so a tool episode is one sequence  [prompt | call | tool result | answer]  in which only the call and the
answer are trained (the tool's tokens are context, never targets). The log-probs are computed on the
distribution the sampler drew from — the constraint's mask replayed over the turn (`replay_allowed`), then the
sampling temperature (`sampled_logprobs`) — and the sampler's own log-probs enter as the behaviour policy of a
truncated importance weight (`grpo.importance_weights`).

Why the context is encoded without gradient: on this CPU a backward pass through a 130-token prompt for every
sample costs several times the whole episode's tokens. The context (all but its last token) is encoded once
per group under no_grad and its key/value cache shared by the group's samples; gradients flow through every
trained token and everything after the context. The log-probs are exact; what is dropped is the gradient path
through the prompt's keys and values (stated in docs/echo.md).
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import torch

from agents.llm.transformers_backend import encode_chat
from echo_sync.grpo import group_advantages, grpo_loss
from echo_sync.rollout import RolloutGroup, Sample
from echo_sync.settings import GRPOSettings


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
    zero_variance_share: float = 0.0  # groups whose rewards are all equal: no gradient signal
    tokens: int = 0  # every token the forward passes saw (contexts, tool results, trained tokens)
    is_weight_mean: float = 1.0
    is_truncated_fraction: float = 0.0
    sampler_kl: float = 0.0  # mean log(pi_sampler / pi_trainer) over trained tokens: how off-policy the batch was
    refused_groups: int = 0  # groups dropped because their reward raised or their tokens did not replay
    refusals: tuple[str, ...] = ()

    def to_json(self) -> dict:
        data = asdict(self)
        data["refusals"] = list(self.refusals)
        return data


def load_causal_lm(model_path: str | Path, device: str = "cpu"):
    """(model, tokenizer) in float32 for training; float32 because CPU bf16 training is slow and lossy."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_path))
    model = AutoModelForCausalLM.from_pretrained(str(model_path), dtype=torch.float32).to(device)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


@dataclass
class _Segment:
    """prefix (no gradient) + tail; target k of the tail is tail[k + 1], trained where `trained[k]`."""

    prefix: tuple[int, ...]
    tail: list[int]
    trained: list[bool] = field(default_factory=list)
    behaviour: list[float] = field(default_factory=list)  # per trained target; nan = unknown (legacy sample)
    allowed: list[torch.Tensor | None] = field(default_factory=list)  # per trained target: the constraint's row
    advantage: float = 0.0
    weight: float = 1.0  # per-token loss weight (1/normaliser-style aggregation, see step)

    def extend(self, tokens: Sequence[int], trained: bool, behaviour: Sequence[float] = (),
               allowed: torch.Tensor | None = None) -> None:
        for k, tok in enumerate(tokens):
            self.tail.append(int(tok))
            self.trained.append(trained)
            if trained:
                self.behaviour.append(float(behaviour[k]) if behaviour else float("nan"))
                self.allowed.append(allowed[k] if allowed is not None else None)


class RolloutRefused(ValueError):
    """A sample the trainer cannot learn from (its tokens do not replay under its constraint, or no tokens)."""


class GRPOTrainer:
    """Owns the policy, its optimiser and (if kl_beta > 0) a reference (the base model for adapters)."""

    def __init__(self, model, tokenizer, settings: GRPOSettings, tasks, rank: int = 0, world_size: int = 1,
                 temperature: float = 1.0):
        """`temperature` is the samplers' (log-probs are those of the distribution they drew from)."""
        self.model, self.tokenizer, self.settings, self.tasks = model, tokenizer, settings, tasks
        self.rank, self.world_size, self.temperature = rank, world_size, temperature
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.params, lr=settings.learning_rate, weight_decay=0.0)
        self.reference = None
        self.adapter = hasattr(model, "disable_adapter") and hasattr(model, "peft_config")
        if settings.kl_beta > 0 and not self.adapter:
            self.reference = copy.deepcopy(model).eval()
            for p in self.reference.parameters():
                p.requires_grad_(False)
        self.steps_done = 0
        self._prompt_cache: dict[int, list[int]] = {}
        self._compiler = None

    # ------------------------------------------------------------------ rollouts -> segments
    def prompt_ids(self, task_index: int) -> list[int]:
        if task_index not in self._prompt_cache:
            self._prompt_cache[task_index] = encode_chat(self.tokenizer, self.tasks.conversation(task_index))
        return self._prompt_cache[task_index]

    def completion_ids(self, sample: Sample) -> list[int]:
        if sample.token_ids:
            return list(sample.token_ids)
        return list(self.tokenizer(sample.text, add_special_tokens=False)["input_ids"])

    def trained_tokens(self, sample: Sample) -> int:
        return sum(len(t.token_ids) for t in sample.turns) if sample.turns else len(self.completion_ids(sample))

    def compiler(self):  # noqa: ANN201 - ConstraintCompiler, built on first constrained turn
        if self._compiler is None:
            from agents.llm.constraints import ConstraintCompiler

            vocab = int(self._lm().get_output_embeddings().weight.shape[0])
            self._compiler = ConstraintCompiler(self.tokenizer, vocab, self._eos())  # the samplers' EOS set
        return self._compiler

    def _replay(self, constraint, token_ids: Sequence[int]) -> torch.Tensor:  # noqa: ANN001 - Constraint
        """The constraint's allowed-token rows before each token, as the sampler's mask had them.

        A completed output ends with the EOS drawn after the matcher stopped (the sampler's mask then allows
        only what a stopped matcher allows); `replay_allowed` refuses any token after completion, so that
        last row is taken from the stopped matcher here."""
        from agents.llm.base import ConstraintError
        from agents.llm.constraints import replay_allowed

        compiler = self.compiler()
        try:
            return replay_allowed(compiler, constraint, token_ids)
        except ConstraintError as exc:
            eos = self._eos()
            if not token_ids or int(token_ids[-1]) not in eos:
                raise RolloutRefused(str(exc)) from None
            try:
                rows = replay_allowed(compiler, constraint, token_ids[:-1])
            except ConstraintError as inner:
                raise RolloutRefused(str(inner)) from None
            matcher = compiler.matcher(constraint)
            for token in token_ids[:-1]:
                matcher.consume_token(int(token))
            if not (matcher.is_stopped() or matcher.is_accepting()):
                raise RolloutRefused(str(exc)) from None
            return torch.cat([rows, compiler.allowed(matcher)[None]])

    def _eos(self) -> set[int]:
        from agents.llm.transformers_backend import _eos_ids

        return _eos_ids(self._lm(), self.tokenizer)

    def _segments(self, task_index: int, sample: Sample) -> list[_Segment]:
        if not sample.turns:  # legacy one-turn sample: the task's prompt, then the completion
            ctx, ids = self.prompt_ids(task_index), self.completion_ids(sample)
            seg = _Segment(tuple(ctx[:-1]), [ctx[-1]])
            seg.extend(ids, True)
            return [seg] if ids else []
        segments: list[_Segment] = []
        for turn in sample.turns:
            if not turn.token_ids:
                continue
            context = encode_chat(self.tokenizer, sample.messages[: turn.n_messages])
            allowed = self._replay(turn.constraint, turn.token_ids) if turn.constraint is not None else None
            current = segments[-1] if segments else None
            whole = list(current.prefix) + current.tail if current else []
            if current is not None and context[: len(whole)] == whole and len(context) > len(whole):
                current.extend(context[len(whole) :], False)  # the tool's result and the chat scaffolding
            else:  # first turn, or a context that re-tokenised differently: a sequence of its own
                current = _Segment(tuple(context[:-1]), [context[-1]])
                segments.append(current)
            current.extend(turn.token_ids, True, turn.logprobs, allowed)
        return segments

    # ------------------------------------------------------------------ rewards
    def score(self, groups: Sequence[RolloutGroup]) -> torch.Tensor:
        """Rewards [groups, G], computed here (not trusted from samplers) with the trainer's own verifiers."""
        sizes = {len(g.samples) for g in groups}
        if len(sizes) != 1:
            raise ValueError(f"all groups in a batch need the same size, got {sorted(sizes)}")
        return torch.tensor([[self.tasks.reward(g.task_index, s.text, s.messages) for s in g.samples] for g in groups])

    def _score_or_refuse(self, groups: Sequence[RolloutGroup]) -> tuple[list[RolloutGroup], list[list[float]], list[str]]:
        sizes = {len(g.samples) for g in groups}
        if len(sizes) != 1:
            raise ValueError(f"all groups in a batch need the same size, got {sorted(sizes)}")
        kept, rewards, refusals = [], [], []
        for g in groups:
            try:
                rewards.append([float(self.tasks.reward(g.task_index, s.text, s.messages)) for s in g.samples])
                kept.append(g)
            except Exception as exc:  # noqa: BLE001 - a verifier bug must not stop training: refuse, count, go on
                refusals.append(f"task {g.task_index}: reward raised {type(exc).__name__}: {exc}")
        return kept, rewards, refusals

    # ------------------------------------------------------------------ the step
    def step(self, groups: Sequence[RolloutGroup]) -> StepStats:
        """One optimiser step on the whole batch; this rank trains on groups[rank::world_size]."""
        start = time.perf_counter()
        groups, reward_rows, refusals = self._score_or_refuse(groups)
        segs_by_group: list[list[list[_Segment]]] = []
        usable_groups, usable_rewards = [], []
        for g, row in zip(groups, reward_rows):
            try:
                segs_by_group.append([self._segments(g.task_index, s) for s in g.samples])
                usable_groups.append(g)
                usable_rewards.append(row)
            except RolloutRefused as exc:
                refusals.append(f"task {g.task_index}: {exc}")
        groups = usable_groups
        refused = len(refusals)
        if not groups:
            self.steps_done += 1
            return StepStats(self.steps_done, 0, 0, 0, float("nan"), 0.0, 0.0, 0.0, 0.0, 0.0,
                             time.perf_counter() - start, refused_groups=refused, refusals=tuple(refusals))
        rewards = torch.tensor(usable_rewards)
        advantages = group_advantages(rewards, self.settings.normalize_std)
        zero_var = float((rewards.max(dim=1).values == rewards.min(dim=1).values).float().mean().item())
        # Global normaliser: trained tokens (token aggregation) or samples over all ranks.
        tokens_all = sum(self.trained_tokens(s) for g in groups for s in g.samples)
        seqs_all = sum(len(g.samples) for g in groups)
        token_agg = self.settings.loss_aggregation == "token"
        mine: list[_Segment] = []
        for gi in range(self.rank, len(groups), self.world_size):
            for si, sample in enumerate(groups[gi].samples):
                n = max(self.trained_tokens(sample), 1)
                if advantages[gi, si].item() == 0.0 and self.settings.kl_beta == 0:
                    continue  # its gradient is exactly zero (it still counts in the normaliser): skip the passes
                for seg in segs_by_group[gi][si]:
                    seg.advantage = advantages[gi, si].item()
                    seg.weight = 1.0 if token_agg else tokens_all / (n * seqs_all)
                    mine.append(seg)

        self.model.train()
        self.optimizer.zero_grad(set_to_none=False)
        sums = {"loss": 0.0, "pg": 0.0, "kl": 0.0, "clipped": 0.0, "w": 0.0, "trunc": 0.0, "skl": 0.0, "n": 0.0, "tokens": 0}
        for bucket in self._buckets(mine):
            self._train_bucket(bucket, float(max(tokens_all, 1)), sums)
        self._all_reduce_grads()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, self.settings.max_grad_norm).item()
        self.optimizer.step()
        self.model.eval()
        self.steps_done += 1
        n = max(self._sum_scalar(sums["n"]), 1.0)
        return StepStats(
            step=self.steps_done,
            groups=len(groups),
            samples=seqs_all,
            completion_tokens=tokens_all,
            reward_mean=rewards.mean().item(),
            loss=self._sum_scalar(sums["loss"]),
            pg_loss=self._sum_scalar(sums["pg"]),
            kl=self._sum_scalar(sums["kl"]),
            clip_fraction=self._sum_scalar(sums["clipped"]) / n,
            grad_norm=grad_norm,
            seconds=time.perf_counter() - start,
            zero_variance_share=zero_var,
            tokens=int(self._sum_scalar(float(sums["tokens"]))),
            is_weight_mean=self._sum_scalar(sums["w"]) / n,
            is_truncated_fraction=self._sum_scalar(sums["trunc"]) / n,
            sampler_kl=self._sum_scalar(sums["skl"]) / n,
            refused_groups=refused,
            refusals=tuple(refusals),
        )

    def _buckets(self, segments: list[_Segment]) -> list[list[_Segment]]:
        """Segments sharing a prefix (a group's prompt), in chunks of at most micro_batch_size."""
        by_prefix: dict[tuple[int, ...], list[_Segment]] = {}
        for seg in segments:
            by_prefix.setdefault(seg.prefix, []).append(seg)
        mb = self.settings.micro_batch_size
        return [segs[i : i + mb] for segs in by_prefix.values() for i in range(0, len(segs), mb)]

    def _lm(self, model=None):  # noqa: ANN001, ANN202
        model = self.model if model is None else model
        return model.get_base_model() if hasattr(model, "get_base_model") else model

    def _target_logps(self, model, bucket: list[_Segment]) -> tuple[torch.Tensor, int]:
        """Log-probs of every trained target of `bucket` (all with one prefix) on the sampled distribution."""
        from agents.llm.constraints import sampled_logprobs

        lm = self._lm(model)
        body, head = lm.base_model, lm.get_output_embeddings()
        prefix = list(bucket[0].prefix)
        width = max(len(s.tail) for s in bucket)
        pad = self.tokenizer.pad_token_id or 0
        tails = torch.tensor([s.tail + [pad] * (width - len(s.tail)) for s in bucket])
        tail_mask = torch.tensor([[1] * len(s.tail) + [0] * (width - len(s.tail)) for s in bucket])
        kwargs: dict = {}
        if prefix:
            with torch.no_grad():
                cache = body(input_ids=torch.tensor([prefix]), use_cache=True).past_key_values
            cache.batch_repeat_interleave(len(bucket))
            kwargs = {"past_key_values": cache,
                      "attention_mask": torch.cat([torch.ones(len(bucket), len(prefix), dtype=torch.long), tail_mask], 1)}
        else:
            kwargs = {"attention_mask": tail_mask}
        positions = torch.arange(len(prefix), len(prefix) + width).expand(len(bucket), -1)
        hidden = body(input_ids=tails, position_ids=positions, use_cache=bool(prefix), **kwargs).last_hidden_state
        rows, cols, targets, allowed = [], [], [], []
        for b, seg in enumerate(bucket):
            j = 0
            for k, trained in enumerate(seg.trained):
                if trained:
                    rows.append(b)
                    cols.append(k)
                    targets.append(seg.tail[k + 1])
                    allowed.append(seg.allowed[j])
                    j += 1
        logits = head(hidden[torch.tensor(rows), torch.tensor(cols)])
        vocab = logits.shape[-1]
        mask = torch.stack([a[:vocab] if a is not None else torch.ones(vocab, dtype=torch.bool) for a in allowed])
        if mask.shape[1] < vocab:  # allowed rows cover the tokenizer's vocabulary; padding rows are never allowed
            mask = torch.cat([mask, torch.zeros(mask.shape[0], vocab - mask.shape[1], dtype=torch.bool)], 1)
        logp = sampled_logprobs(logits, mask, self.temperature).gather(1, torch.tensor(targets)[:, None]).squeeze(1)
        return logp, len(prefix) * 1 + int(tail_mask.sum())

    def _train_bucket(self, bucket: list[_Segment], normaliser: float, sums: dict) -> None:
        logp, seen = self._target_logps(self.model, bucket)
        adv = torch.tensor([seg.advantage for seg in bucket for t in seg.trained if t], dtype=torch.float32)
        weight = torch.tensor([seg.weight for seg in bucket for t in seg.trained if t], dtype=torch.float32)
        behaviour = torch.tensor([x for seg in bucket for x in seg.behaviour], dtype=torch.float32)
        known = ~torch.isnan(behaviour)
        behaviour = torch.where(known, behaviour, logp.detach())  # unknown behaviour: taken as on-policy
        ref = None
        if self.settings.kl_beta > 0:
            with torch.no_grad():
                if self.adapter:
                    with self.model.disable_adapter():
                        ref, _ = self._target_logps(self.model, bucket)
                else:
                    ref, _ = self._target_logps(self.reference, bucket)
        # One optimiser step per batch: the proximal ("old") policy is the current one (detached), so rho = 1 and
        # the clip only bites if a batch were reused; staleness is corrected by the importance weight instead.
        parts = grpo_loss(logp[:, None], logp.detach()[:, None], adv, weight[:, None], self.settings.clip_eps,
                          ref[:, None] if ref is not None else None, self.settings.kl_beta, "token", normaliser,
                          behaviour_logp=behaviour[:, None], is_cap=self.settings.is_cap)
        parts.loss.backward()
        n = float(logp.numel())
        sums["loss"] += parts.loss.item()
        sums["pg"] += parts.pg_loss
        sums["kl"] += parts.kl
        sums["clipped"] += parts.clip_fraction * n
        sums["w"] += parts.is_weight_mean * n
        sums["trunc"] += parts.is_truncated_fraction * n
        sums["skl"] += float((behaviour - logp.detach()).sum().item())
        sums["n"] += n
        sums["tokens"] += seen

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
