#!/usr/bin/env python
"""Benchmark: does Echo learn, and do decoupled swarms match a co-located trainer at equal optimiser steps?

One run, one recipe (echo_sync.recipes: SmolLM2-135M-Instruct + a rank-8 LoRA adapter, GRPO on tool-using rollouts
— constrained calculator call, the calculator's real result, constrained answer — same seed, task stream and
held-out questions for every mode):
1. specialists: held-out accuracy before -> after with 95 % Wilson intervals, from specialists/manifest.json
   (written by scripts/train_specialists.py, whose co-located training run uses this same recipe);
2. parity: co-located vs sequential (pull) vs async (push-pull) for --steps optimiser steps each: final reward
   (mean of the last 20 steps) and held-out accuracy after, relative to co-located (Echo's claim: within 5 %),
   training wall time (held-out evaluations excluded), throughput async / co-located, weight sync per version
   (export + chain + download + sha256 + hot-swap), staleness histogram, drops/requeues/refusals, zero-variance
   group share, clip fraction and importance weights.
Prints a table, writes results/bench_echo.json and results/echo_learning_curves.png (reward and held-out accuracy
against steps and against wall time, per mode).

    .venv/bin/python scripts/bench_echo.py                                   # all three modes, 100 steps each
    .venv/bin/python scripts/bench_echo.py --reuse colocated=build/specialists/arithmetic-calculator

`--reuse MODE=RUN_DIR` takes a finished run of the same recipe instead of repeating it (the settings are compared
field by field and must be equal): on a shared 2-core CPU a 100-step run costs most of an hour.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MODES = ("colocated", "sequential", "async")
TAIL = 20  # "final reward": mean over the last TAIL steps


def comparable(settings: dict) -> dict:
    return {k: v for k, v in settings.items() if k not in ("mode", "samplers", "run_dir", "model_path")}


def run_mode(mode: str, args: argparse.Namespace, model: Path) -> dict:
    from echo_sync.launcher import LocalRun
    from echo_sync.recipes import recipe
    from symphony.cli.echo_cmd import role_command

    settings = recipe(args.specialist, mode, steps=args.steps, heldout_size=args.heldout,
                      heldout_every=args.heldout_every, samplers=args.samplers, seed=args.seed)
    reuse = dict(r.split("=", 1) for r in args.reuse)
    if mode in reuse:
        folder = Path(reuse[mode])
        summary = json.loads((folder / "summary.json").read_text())
        want = comparable(json.loads(settings.model_dump_json()))
        got = comparable(json.loads((folder / "trainer_summary.json").read_text())["settings"])
        if want != got:
            diff = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
            raise SystemExit(f"--reuse {mode}={folder}: not the same recipe: {diff}")
        summary["reused_from"] = str(folder)
        print(f"== {mode}: reusing {folder} ({summary['steps']} steps)", flush=True)
        return summary
    print(f"\n== {mode} ({settings.steps} steps) ==", flush=True)
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    summary = LocalRun(settings, model, role_command, args.work / mode, log=lambda line: print("  " + line, flush=True)).run(
        timeout_s=args.timeout)
    summary["total_s_including_startup"] = time.perf_counter() - t0
    summary["load_avg_1min_before"] = load_before
    summary["load_avg_1min_after"] = os.getloadavg()[0]
    return summary


def digest(mode: str, s: dict) -> dict:
    steps = s["steps_records"] if "steps_records" in s else None  # noqa: F841 - summary has the curve only
    curve = s["reward_curve"]
    tail = [r for (_, _, r) in curve[-TAIL:] if r == r]
    heldout = s.get("heldout", [])
    buffer = s.get("buffer") or {}
    return {
        "mode": mode,
        "steps": s["steps"],
        "wall_s": s["wall_s"],
        "samples_per_s": s["samples_per_s"],
        "trainer_idle_frac": s["trainer_idle_frac"],
        "sampler_idle_frac": s["sampler_idle_frac"],
        "mean_staleness": s["mean_staleness"],
        "staleness_hist": s["staleness_hist"],
        "publish_s_per_version": s["publish_s_per_version"],
        "sampler_sync_s_per_version": s["sampler_sync_s_per_version"],
        "weight_sync_s_per_version": s["weight_sync_s_per_version"],
        "reward_final": sum(tail) / len(tail) if tail else float("nan"),
        "reward_first": s["reward_first"],
        "heldout_before": heldout[0] if heldout else None,
        "heldout_after": heldout[-1] if heldout else None,
        "zero_variance_share": s.get("zero_variance_share"),
        "clip_fraction": s.get("clip_fraction"),
        "is_weight_mean": s.get("is_weight_mean"),
        "is_truncated_fraction": s.get("is_truncated_fraction"),
        "refused_groups": s.get("refused_groups", 0),
        "dropped_stale": buffer.get("dropped_stale", 0),
        "requeued_stale": buffer.get("requeued_stale", 0),
        "evicted_full": buffer.get("evicted_full", 0),
        "rejected": sum(buffer.get(k, 0) for k in ("rejected_unknown_version", "rejected_bad_hash", "rejected_revoked",
                                                   "rejected_malformed")),
        "refused_weights": len(s.get("refused_weights", [])),
        "reused_from": s.get("reused_from"),
    }


def pct(x: dict | None) -> str:
    if not x:
        return "   n/a"
    return f"{x['accuracy']:.0%} [{x['ci95'][0]:.0%},{x['ci95'][1]:.0%}]"


def table(rows: list[dict], specialists: list[dict]) -> str:
    lines = []
    if specialists:
        lines.append(f"{'specialist':<24} {'family':<18} {'steps':>5}  {'held-out before':<18} {'after':<18} {'delta':>6}")
        lines.append("-" * 96)
        for e in specialists:
            b, a = e["heldout_before"], e["heldout_after"]
            lines.append(f"{e['name']:<24} {e['family']:<18} {e['steps']:>5}  {pct(b):<18} {pct(a):<18} "
                         f"{(a['accuracy'] - b['accuracy']) * 100:>+5.0f}pt")
        lines.append("")
    head = (f"{'mode':<11} {'steps':>5} {'train s':>7} {'samp/s':>6} {'x col':>5} {'t.idle':>6} {'s.idle':>6} "
            f"{'stale':>5} {'sync s/v':>8} {'reward end':>10} {'vs col':>6} {'held-out before':<16} {'after':<16} "
            f"{'vs col':>6} {'0-var':>5} {'IS w':>5} {'req/drop':>8}")
    lines += [head, "-" * len(head)]
    col = next((r for r in rows if r["mode"] == "colocated"), None)
    for r in rows:
        rel_r = (r["reward_final"] - col["reward_final"]) / abs(col["reward_final"]) if col and col["reward_final"] else float("nan")
        ha, ca = r["heldout_after"], col["heldout_after"] if col else None
        rel_h = (ha["accuracy"] - ca["accuracy"]) / ca["accuracy"] if ha and ca and ca["accuracy"] else float("nan")
        x = r["samples_per_s"] / col["samples_per_s"] if col and col["samples_per_s"] else float("nan")
        lines.append(
            f"{r['mode']:<11} {r['steps']:>5} {r['wall_s']:>7.0f} {r['samples_per_s']:>6.3f} {x:>5.2f} "
            f"{r['trainer_idle_frac']:>6.2f} {r['sampler_idle_frac']:>6.2f} {r['mean_staleness']:>5.2f} "
            f"{r['weight_sync_s_per_version']:>8.3f} {r['reward_final']:>10.3f} {rel_r:>+6.0%} {pct(r['heldout_before']):<16} "
            f"{pct(r['heldout_after']):<16} {rel_h:>+6.0%} {r['zero_variance_share']:>5.2f} {r['is_weight_mean']:>5.2f} "
            f"{r['requeued_stale']:>4}/{r['dropped_stale']:<3}")
    lines.append(f"reward end = mean batch reward of the last {TAIL} steps; vs col = relative to co-located; train s = "
                 "trainer clock without held-out evaluations; sync s/v = export + chain + sampler download, sha256 and "
                 "hot-swap per version; 0-var = share of groups with equal rewards (no gradient); IS w = mean truncated "
                 "importance weight; req/drop = stale groups requeued / dropped")
    return "\n".join(lines)


def plot(rows: list[dict], summaries: dict, dest: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    for r in rows:
        s = summaries[r["mode"]]
        curve = s["reward_curve"]
        k = 10
        smooth = [sum(c[2] for c in curve[max(0, i - k + 1) : i + 1]) / len(curve[max(0, i - k + 1) : i + 1]) for i in range(len(curve))]
        axes[0][0].plot([c[1] for c in curve], smooth, label=r["mode"])
        axes[0][1].plot([c[0] for c in curve], smooth, label=r["mode"])
        h = s.get("heldout", [])
        if h:
            axes[1][0].errorbar([x["step"] for x in h], [x["accuracy"] for x in h], marker="o", capsize=3, label=r["mode"],
                                yerr=[[x["accuracy"] - x["ci95"][0] for x in h], [x["ci95"][1] - x["accuracy"] for x in h]])
            axes[1][1].plot([x["wall_s"] for x in h], [x["accuracy"] for x in h], marker="o", label=r["mode"])
    for ax, (xl, yl) in zip(axes.flat, [("optimiser step", "batch reward (10-step mean)"), ("training wall time (s)", "batch reward (10-step mean)"),
                                        ("optimiser step", "held-out accuracy (95% CI)"), ("training wall time (s)", "held-out accuracy")]):
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    dest.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(dest, dpi=100)


def main() -> int:
    from echo_sync.recipes import SPECIALISTS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--specialist", default="arithmetic-calculator", choices=sorted(SPECIALISTS), help="the recipe's task")
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--heldout", type=int, default=40)
    p.add_argument("--heldout-every", type=int, default=50)
    p.add_argument("--samplers", type=int, default=1, help="sampler processes in sequential/async mode")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--reuse", action="append", default=[], metavar="MODE=RUN_DIR")
    p.add_argument("--manifest", type=Path, default=ROOT / "specialists" / "manifest.json")
    p.add_argument("--work", type=Path, default=ROOT / "build" / "bench-echo")
    p.add_argument("--timeout", type=float, default=4 * 3600)
    p.add_argument("--out", type=Path, default=ROOT / "results" / "bench_echo.json")
    p.add_argument("--png", type=Path, default=ROOT / "results" / "echo_learning_curves.png")
    args = p.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    if any(m not in MODES for m in modes):
        p.error(f"modes are {', '.join(MODES)}")

    import torch

    from echo_sync.runtime import resolve_model_path

    model = resolve_model_path(None)
    summaries = {m: run_mode(m, args, model) for m in modes}
    rows = [digest(m, summaries[m]) for m in modes]
    specialists = json.loads(args.manifest.read_text())["specialists"] if args.manifest.exists() else []
    env = {
        "model": "SmolLM2-135M-Instruct (float32) + LoRA rank 8 on q/k/v/o",
        "device": "cpu",
        "cpu": platform.processor() or platform.machine(),
        "cores": len(os.sched_getaffinity(0)),
        "load_avg_at_end": os.getloadavg(),
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "layout": f"co-located: 1 process; sequential/async: 1 trainer + {args.samplers} sampler process(es); "
                  "torch threads 1 per process, not pinned (shared box)",
    }
    text = table(rows, specialists)
    col = next((r for r in rows if r["mode"] == "colocated"), None)
    notes = []
    for r in rows:
        if col is None or r["mode"] == "colocated":
            continue
        notes.append(f"{r['mode']}: throughput {r['samples_per_s'] / col['samples_per_s']:.2f}x co-located (goal >= 1.0x for async); "
                     f"weight sync {r['weight_sync_s_per_version']:.3f} s/version (goal <= 0.1 s)")
    print("\n" + text)
    print(f"\nmodel: {env['model']}; device: cpu ({env['cores']} cores shared with other jobs, load average at end "
          f"{env['load_avg_at_end'][0]:.1f}); {env['layout']}")
    for n in notes:
        print(n)
    from echo_sync.recipes import recipe

    args.out.parent.mkdir(parents=True, exist_ok=True)
    slim = {m: {k: v for k, v in s.items() if k != "samplers"} for m, s in summaries.items()}
    args.out.write_text(json.dumps({"environment": env, "recipe": json.loads(recipe(args.specialist).model_dump_json()),
                                    "table": text, "notes": notes, "rows": rows, "specialists": specialists,
                                    "runs": slim}, indent=2))
    plot(rows, summaries, args.png, f"Echo, {args.specialist}: SmolLM2-135M + LoRA on CPU, {args.steps} steps per mode")
    print(f"wrote {args.out} and {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
