"""`symphony detect generate|train` — the Hide-and-Shill dataset and detector (off-chain half).

`detect agent|ask` (detectors as Symphony agents, settled by weighted vote) come from marl_detector.committee.cli.

Why one `detect` group shared with the on-chain half: the live detector (`symphony detect run`) is
registered by `marl_detector.onchain.cli.register_run(sub)` when that module exists, so both halves appear
under one command without importing each other. Heavy libraries are imported inside the handlers.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

DEFAULT_DATA = Path("out/detector/dataset")
DEFAULT_MODEL = Path("out/detector/model")


def _progress_printer(label: str):  # noqa: ANN202 - callback
    start = time.time()
    last = [0.0]

    def show(done: int, total: int) -> None:
        now = time.time()
        if now - last[0] < 1.0 and done < total:
            return
        last[0] = now
        rate = done / max(now - start, 1e-9)
        eta = (total - done) / rate if rate > 0 else float("inf")
        print(f"\r{label}: {done}/{total} ({100 * done / total:.0f}%) {rate:.0f}/s eta {eta:.0f}s", end="", file=sys.stderr)
        if done >= total:
            print(file=sys.stderr)

    return show


def _generate(args: argparse.Namespace) -> int:
    from core.errors import SymphonyError
    from marl_detector.dataset import DatasetConfig, generate

    if args.episodes < 10:
        raise SymphonyError("--episodes must be at least 10")
    if args.workers < 1:
        raise SymphonyError("--workers must be at least 1")
    manifest = generate(Path(args.out), DatasetConfig(n_episodes=args.episodes, seed=args.seed, world_seed=args.world_seed),
                        workers=args.workers, progress=_progress_printer("episodes"))
    for split, s in manifest["splits"].items():
        print(f"{split:5s} {s['episodes']:7d} episodes  manipulation {s['positives']:6d}  discovery {s['discovery']:6d}  "
              f"none {s['none']:6d}  styles {','.join(s['styles'])}")
    print(f"wrote {args.out} in {manifest['seconds']}s")
    return 0


def _train(args: argparse.Namespace) -> int:
    import torch

    from marl_detector.grpo import DetectorGRPOSettings
    from marl_detector.manipulator import ManipulatorConfig
    from marl_detector.train import TrainConfig, train_detector

    torch.set_num_threads(max(1, args.threads))
    cfg = TrainConfig(
        base=DetectorGRPOSettings(iterations=args.iterations, groups_per_step=args.batch, group_size=args.group_size,
                                  seed=args.seed),
        finetune=DetectorGRPOSettings(iterations=args.finetune_iterations, groups_per_step=args.batch,
                                      group_size=args.group_size, learning_rate=3e-3, kl_beta=0.05, seed=args.seed),
        manipulator=ManipulatorConfig(steps=args.manipulator_steps, seed=args.seed),
        rounds=args.rounds, seed=args.seed,
    )
    result = train_detector(Path(args.data), Path(args.out), cfg, log=lambda s: print(s, flush=True))
    print(f"detector sha256 {result['sha256']}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("detect", help="Hide-and-Shill pump-and-dump detection")
    sub = p.add_subparsers(dest="detect_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])

    g = sub.add_parser("generate", help="simulate discourse episodes and write the Parquet dataset")
    g.add_argument("--out", default=str(DEFAULT_DATA), help=f"dataset directory (default {DEFAULT_DATA})")
    g.add_argument("--episodes", type=int, default=100_000)
    g.add_argument("--seed", type=int, default=7)
    g.add_argument("--world-seed", type=int, default=1)
    g.add_argument("--workers", type=int, default=1, help="processes (each ~10 ms per episode)")
    g.set_defaults(func=_generate)

    t = sub.add_parser("train", help="train the GRPO detector with manipulator co-evolution")
    t.add_argument("--data", default=str(DEFAULT_DATA))
    t.add_argument("--out", default=str(DEFAULT_MODEL), help=f"model directory (default {DEFAULT_MODEL})")
    t.add_argument("--iterations", type=int, default=400, help="base GRPO iterations")
    t.add_argument("--finetune-iterations", type=int, default=300, help="GRPO iterations per co-evolution round")
    t.add_argument("--batch", type=int, default=512, help="episodes per GRPO iteration")
    t.add_argument("--group-size", type=int, default=16, help="sampled decisions per episode (the GRPO group)")
    t.add_argument("--rounds", type=int, default=3, help="co-evolution rounds")
    t.add_argument("--manipulator-steps", type=int, default=15)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--seed", type=int, default=0)
    t.set_defaults(func=_train)

    try:
        onchain_cli = importlib.import_module("marl_detector.onchain.cli")
    except ModuleNotFoundError:
        return
    register_run = getattr(onchain_cli, "register_run", None)
    if register_run is not None:
        register_run(sub)
    from marl_detector.committee.cli import register_committee

    register_committee(sub)
