"""Turning a run's raw records (trainer summary, sampler stats) into the numbers the benchmark reports.

Why one function: the CLI summary and the benchmark table must define "idle" and "staleness" identically.
"""

from __future__ import annotations

from collections import Counter
from statistics import mean


def summarize(trainer: dict, samplers: list[dict]) -> dict:
    steps = trainer.get("steps", [])
    wall = max(trainer.get("wall_s", 0.0), 1e-9)
    samples = sum(s["samples"] for s in steps)
    staleness = [x for s in steps for x in s["staleness"]]
    hist = Counter(staleness)
    tail = steps[-max(1, len(steps) // 4) :] if steps else []
    publishes = trainer.get("publishes", [])
    syncs = [x for sm in samplers for x in sm.get("syncs", [])]
    if trainer.get("mode") == "colocated":
        sampler_idle = trainer.get("train_s", 0.0) / wall  # the generator waits while the same process trains
        sampler_idle_each = [sampler_idle]
    else:
        sampler_idle_each = [max(0.0, 1.0 - (sm.get("generate_s", 0.0) + sm.get("sync_s", 0.0)) / wall) for sm in samplers]
        sampler_idle = mean(sampler_idle_each) if sampler_idle_each else float("nan")
    publish_s = [p["export_s"] + p["chain_s"] for p in publishes]
    sync_s = [x["total_s"] for x in syncs]
    return {
        "mode": trainer.get("mode"),
        "steps": len(steps),
        "samples": samples,
        "wall_s": wall,
        "samples_per_s": samples / wall,
        "trainer_idle_frac": trainer.get("wait_s", 0.0) / wall,
        "sampler_idle_frac": sampler_idle,
        "sampler_idle_each": sampler_idle_each,
        "mean_staleness": mean(staleness) if staleness else 0.0,
        "max_staleness": max(staleness) if staleness else 0,
        "staleness_hist": {str(k): v for k, v in sorted(hist.items())},
        "versions_published": len(publishes),
        "publish_s_per_version": mean(publish_s) if publish_s else 0.0,
        "sampler_sync_s_per_version": mean(sync_s) if sync_s else 0.0,
        "weight_sync_s_per_version": (mean(publish_s) if publish_s else 0.0) + (mean(sync_s) if sync_s else 0.0),
        "reward_first": steps[0]["reward_mean"] if steps else float("nan"),
        "reward_end": mean(s["reward_mean"] for s in tail) if tail else float("nan"),
        "reward_curve": [(s["wall_s"], s["step"], s["reward_mean"]) for s in steps],
        "buffer": trainer.get("buffer"),
        "heldout": trainer.get("heldout", []),
        "eval_s": trainer.get("eval_s", 0.0),
        "zero_variance_share": mean(s.get("zero_variance_share", 0.0) for s in steps) if steps else float("nan"),
        "clip_fraction": mean(s.get("clip_fraction", 0.0) for s in steps) if steps else float("nan"),
        "is_weight_mean": mean(s.get("is_weight_mean", 1.0) for s in steps) if steps else float("nan"),
        "is_truncated_fraction": mean(s.get("is_truncated_fraction", 0.0) for s in steps) if steps else float("nan"),
        "refused_groups": sum(s.get("refused_groups", 0) for s in steps),
        "tokens": sum(s.get("tokens", 0) for s in steps),
        "dead_samplers": trainer.get("dead_samplers", []),
        "refused_weights": [r for sm in samplers for r in sm.get("refused", [])],
    }
