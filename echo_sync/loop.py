"""The training loop shared by every mode and every data-parallel rank.

Why rank 0 alone talks to samplers/buffer: the batch is fetched once and broadcast, each rank trains on its
slice, gradients are summed, and rank 0 alone publishes — so there is exactly one version sequence.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # runtime imports would pull web3 into co-located runs that never touch a chain
    from echo_sync.publisher import Published
    from echo_sync.sources import BatchSource
    from echo_sync.trainer import GRPOTrainer, StepStats


@dataclass
class LoopResult:
    steps: list[dict] = field(default_factory=list)
    publishes: list[dict] = field(default_factory=list)
    wall_s: float = 0.0
    wait_s: float = 0.0
    train_s: float = 0.0
    publish_s: float = 0.0
    eval_s: float = 0.0
    heldout: list[dict] = field(default_factory=list)  # {"step", "wall_s", "accuracy", "ci95", "correct", "n"}
    stopped_by_budget: bool = False

    def to_json(self) -> dict:
        return {
            "steps": self.steps,
            "publishes": self.publishes,
            "wall_s": self.wall_s,
            "wait_s": self.wait_s,
            "train_s": self.train_s,
            "publish_s": self.publish_s,
            "eval_s": self.eval_s,
            "heldout": self.heldout,
            "stopped_by_budget": self.stopped_by_budget,
        }


def _broadcast(obj, world_size: int):
    if world_size == 1:
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def train(
    trainer: GRPOTrainer,
    source: BatchSource | None,
    publish: Callable[[], Published | None] | None,
    steps: int,
    groups_per_step: int,
    wall_budget_s: float | None = None,
    progress: Path | None = None,
    on_step: Callable[[StepStats, list], None] | None = None,
    evaluate: Callable[[], dict] | None = None,
    eval_every: int = 0,
) -> LoopResult:
    """Run up to `steps` GRPO steps. `source`/`publish` are used on rank 0 only (None elsewhere).

    `publish()` exports the current weights as the next version (None in co-located mode, which has nobody
    to sync with and only counts versions). `evaluate()` (rank 0) measures held-out accuracy before the first
    step, every `eval_every` steps and after the last; its time is kept out of the training clock (`wall_s`),
    so modes are compared on training time only.
    """
    rank, world = trainer.rank, trainer.world_size
    result = LoopResult()
    version, sha = 0, ""
    t_start = time.perf_counter()

    def clock() -> float:
        return time.perf_counter() - t_start - result.eval_s

    def measure(step: int) -> None:
        if evaluate is None or rank != 0:
            return
        t0 = time.perf_counter()
        record = {"step": step, "wall_s": clock(), **evaluate()}
        result.eval_s += time.perf_counter() - t0
        result.heldout.append(record)
        if progress is not None:
            with open(progress.with_name("heldout.jsonl"), "a") as handle:
                handle.write(json.dumps(record) + "\n")

    measure(0)
    t_start = time.perf_counter() - result.eval_s  # the clock starts after the first evaluation
    if rank == 0:
        version, sha = _publish(publish, result, version)  # v1 = the initial weights
    done = 0
    for _ in range(steps):
        batch = None
        if rank == 0:
            over = wall_budget_s is not None and clock() >= wall_budget_s
            if over:
                result.stopped_by_budget = True
            else:
                assert source is not None
                batch = source.next_batch(groups_per_step, version)
        batch = _broadcast(batch, world)
        if batch is None:
            break
        t0 = time.perf_counter()
        stats = trainer.step(batch)
        result.train_s += time.perf_counter() - t0
        done += 1
        if rank == 0:
            consumed_at = version
            version, sha = _publish(publish, result, version)
            staleness = [consumed_at - g.policy_version for g in batch]
            record = {
                **stats.to_json(),
                "wall_s": clock(),
                "trained_on_versions": sorted({g.policy_version for g in batch}),
                "staleness": staleness,
                "new_version": version,
                "new_sha256": sha,
                "samplers": sorted({g.sampler_id for g in batch}),
            }
            result.steps.append(record)
            if progress is not None:
                with open(progress, "a") as handle:
                    handle.write(json.dumps(record) + "\n")
            if on_step is not None:
                on_step(stats, batch)
            if eval_every and done % eval_every == 0 and done < steps:
                measure(done)
    if rank == 0 and evaluate is not None and (not result.heldout or result.heldout[-1]["step"] != done):
        measure(done)
    result.wall_s = clock()
    if rank == 0 and source is not None:
        result.wait_s = source.wait_s
    return result


def _publish(publish: Callable[[], Published | None] | None, result: LoopResult, version: int) -> tuple[int, str]:
    t0 = time.perf_counter()
    record = publish() if publish is not None else None
    result.publish_s += time.perf_counter() - t0
    if record is None:
        return version + 1, ""
    result.publishes.append(
        {"version": record.version, "sha256": record.sha256, "uri": record.uri, "bytes": record.bytes,
         "export_s": record.export_s, "chain_s": record.chain_s}
    )
    return record.version, record.sha256
