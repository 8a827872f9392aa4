"""Benchmark: co-located vs sequential (pull) vs async (push-pull) Echo on the same model, tasks and budget.

Each mode gets the same wall-clock training budget (the trainer's loop; process start-up, anvil and model
loading are excluded), the same GRPO settings and the same task stream. On this 2-core box: 1 trainer rank
and 2 samplers, one torch thread per process, trainer pinned to core 0 and samplers to core 1
(os.sched_setaffinity); co-located is one process on one core. Prints a table, writes
results/bench_echo.json and results/echo_reward_curves.png.

    .venv/bin/python scripts/bench_echo.py                   # SmolLM2-135M-Instruct and the tiny model
    .venv/bin/python scripts/bench_echo.py --models tiny --budget-tiny 20
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = ("colocated", "sequential", "async")


def settings_for(mode: str, budget_s: float, args: argparse.Namespace, model: str):
    from echo_sync.settings import EchoSettings

    small = model != "tiny"
    return EchoSettings(
        mode=mode,
        steps=10_000,  # the wall budget ends the run
        trainers=1,
        samplers=0 if mode == "colocated" else 2,
        max_staleness=args.max_staleness,
        stale_policy="requeue",
        buffer_capacity=2 if small else 4,  # one batch ahead: more only goes stale
        wall_budget_s=budget_s,
        torch_threads=1,
        pin_cpus=True,
        grpo={"group_size": 4, "groups_per_step": 2 if small else 4, "learning_rate": 1e-5 if small else 1e-4,
              "micro_batch_size": 8},
        sampling={"max_new_tokens": 16 if small else 24, "temperature": 1.0},
        tasks={"datasets": ("chain_sum", "basic_arithmetic"), "seed": 7},
    )


def model_path(name: str, work: Path) -> Path:
    if name == "tiny":
        from agents.llm.tiny import build_tiny_model

        return build_tiny_model(work / "tiny-model")
    from echo_sync.runtime import resolve_model_path

    return resolve_model_path(None)


def reward_at(summary: dict, steps: int, window: int) -> float:
    """Mean reward of steps (steps-window, steps]: compares modes at equal numbers of optimiser steps."""
    curve = [r for (_, s, r) in summary["reward_curve"] if steps - window < s <= steps]
    return sum(curve) / len(curve) if curve else float("nan")


def run_model(name: str, budget_s: float, args: argparse.Namespace, work: Path) -> dict:
    from echo_sync.launcher import LocalRun
    from symphony.cli.echo_cmd import role_command

    path = model_path(name, work)
    out: dict = {"model": name if name == "tiny" else "SmolLM2-135M-Instruct", "model_path": str(path), "budget_s": budget_s, "modes": {}}
    for mode in MODES:
        settings = settings_for(mode, budget_s, args, name)
        out["settings"] = json.loads(settings.model_dump_json(exclude={"mode", "samplers"}))
        print(f"\n== {out['model']} / {mode} (budget {budget_s:.0f} s) ==", flush=True)
        load_before = os.getloadavg()[0]  # a shared box: record how busy it was for this mode
        t0 = time.perf_counter()
        summary = LocalRun(settings, path, role_command, work / f"{name}-{mode}", log=lambda line: print("  " + line, flush=True)).run()
        summary["total_s_including_startup"] = time.perf_counter() - t0
        summary["load_avg_1min_before"] = load_before
        summary["load_avg_1min_after"] = os.getloadavg()[0]
        out["modes"][mode] = summary
    common = min(s["steps"] for s in out["modes"].values())
    window = max(1, common // 2)
    for s in out["modes"].values():
        s["reward_at_equal_steps"] = reward_at(s, common, window)
    out["equal_steps"] = {"steps": common, "window": window}
    coloc = out["modes"]["colocated"]
    for mode in ("sequential", "async"):
        s = out["modes"][mode]
        s["throughput_vs_colocated"] = s["samples_per_s"] / coloc["samples_per_s"] if coloc["samples_per_s"] else float("nan")
        base = coloc["reward_at_equal_steps"]
        s["reward_vs_colocated"] = (s["reward_at_equal_steps"] - base) / abs(base) if base else float("nan")
    return out


def table(results: list[dict]) -> str:
    head = (f"{'model':<22} {'mode':<11} {'steps':>5} {'samples/s':>9} {'x coloc':>7} {'trainer idle':>12} {'sampler idle':>12} "
            f"{'staleness':>9} {'sync s/ver':>10} {'reward end':>10} {'reward@k':>9} {'load':>5}")
    lines = [head, "-" * len(head)]
    for r in results:
        for mode, s in r["modes"].items():
            lines.append(
                f"{r['model']:<22} {mode:<11} {s['steps']:>5} {s['samples_per_s']:>9.3f} {s.get('throughput_vs_colocated', 1.0):>7.2f} "
                f"{s['trainer_idle_frac']:>12.2f} {s['sampler_idle_frac']:>12.2f} {s['mean_staleness']:>9.2f} "
                f"{s['weight_sync_s_per_version']:>10.3f} {s['reward_end']:>10.3f} {s['reward_at_equal_steps']:>9.3f} "
                f"{s['load_avg_1min_after']:>5.1f}"
            )
        k = r["equal_steps"]
        lines.append(f"{'':<22} reward@k = mean reward over steps {k['steps'] - k['window'] + 1}..{k['steps']} (equal steps for every mode); "
                     "load = host 1-min load average after the mode (shared 2-core box)")
    return "\n".join(lines)


def plot(results: list[dict], dest: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4), squeeze=False)
    for ax, r in zip(axes[0], results):
        for mode, s in r["modes"].items():
            curve = s["reward_curve"]
            ax.plot([c[0] for c in curve], [c[2] for c in curve], marker="o", label=f"{mode} ({s['steps']} steps)")
        ax.set_title(f"{r['model']}: reward vs time ({r['budget_s']:.0f} s budget)")
        ax.set_xlabel("trainer wall-clock (s)")
        ax.set_ylabel("mean batch reward")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    dest.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(dest, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="small,tiny", help="comma-separated: small (SmolLM2-135M-Instruct), tiny")
    parser.add_argument("--budget-small", type=float, default=100.0, help="training seconds per mode, small model")
    parser.add_argument("--budget-tiny", type=float, default=20.0, help="training seconds per mode, tiny model")
    parser.add_argument("--max-staleness", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench_echo.json")
    parser.add_argument("--png", type=Path, default=ROOT / "results" / "echo_reward_curves.png")
    args = parser.parse_args()

    import torch

    names = [m.strip() for m in args.models.split(",") if m.strip()]
    for name in names:
        if name not in ("small", "tiny"):
            parser.error(f"unknown model {name!r}; use small and/or tiny")
    results = []
    # Each run writes a checkpoint per policy version (GBs for the small model): the folder goes when we are done.
    with tempfile.TemporaryDirectory(prefix="bench-echo-") as tmp:
        work = Path(tmp)
        for name in names:
            results.append(run_model(name, args.budget_small if name == "small" else args.budget_tiny, args, work))
    env = {
        "device": "cpu",
        "cpu": platform.processor() or platform.machine(),
        "cores": len(os.sched_getaffinity(0)),
        "load_avg_at_end": os.getloadavg(),
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "layout": "1 trainer (core 0) + 2 samplers (core 1), torch threads 1 per process; co-located: 1 process on core 0",
    }
    print("\n" + table(results))
    print(f"\ndevice: {env['device']} ({env['cores']} cores, load average at end {env['load_avg_at_end'][0]:.1f}); {env['layout']}")
    for r in results:
        a = r["modes"]["async"]
        print(f"{r['model']}: async throughput {a['throughput_vs_colocated']:.2f}x co-located (goal >= 1.5x); "
              f"reward@{r['equal_steps']['steps']} steps {a['reward_vs_colocated']:+.1%} vs co-located (goal within 5%)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    slim = [{**r, "modes": {m: {k: v for k, v in s.items() if k != "samplers"} for m, s in r["modes"].items()}} for r in results]
    args.out.write_text(json.dumps({"environment": env, "results": slim}, indent=2))
    plot(results, args.png)
    print(f"wrote {args.out} and {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
