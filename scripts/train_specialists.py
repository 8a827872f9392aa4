#!/usr/bin/env python
"""Train the shipped specialists: LoRA adapters of SmolLM2-135M-Instruct that drive a calculator by its schema.

For each specialist in echo_sync.recipes.SPECIALISTS: an Echo run (co-located GRPO, tool-using rollouts, held-out
accuracy before, during and after on agents.datasets SEEDS["echo_heldout"] questions never trained on), then the
final adapter is copied to specialists/<name>/adapter.safetensors, published as the next policy version of a
PolicyRegistry (an embedded anvil unless --rpc-url/--registry name a persistent one; the key comes from
$SYMPHONY_PRIVATE_KEY there) with the base model's hash in its URI, and specialists/manifest.json records
adapter file, sha256, base model hash, family, steps, seed, settings and held-out accuracy before/after with
95 % Wilson intervals.

    .venv/bin/python scripts/train_specialists.py                       # both specialists, 100 steps each
    .venv/bin/python scripts/train_specialists.py --only arithmetic-calculator --steps 100
    .venv/bin/python scripts/train_specialists.py --publish-only        # (re)publish the shipped adapters

Reproduces the shipped adapters up to CPU float non-determinism and the machine's thread scheduling.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

OUT = ROOT / "specialists"


def train_one(name: str, args: argparse.Namespace, model: Path) -> dict:
    from echo_sync.launcher import LocalRun
    from echo_sync.recipes import recipe
    from symphony.cli.echo_cmd import role_command

    settings = recipe(name, "colocated", steps=args.steps, heldout_size=args.heldout, heldout_every=args.heldout_every,
                      seed=args.seed)
    run_dir = args.work / name
    print(f"== {name}: {settings.tasks.family} with {settings.tasks.tool}, {settings.steps} steps -> {run_dir}", flush=True)
    t0 = time.perf_counter()
    summary = LocalRun(settings, model, role_command, run_dir, log=lambda line: print("  " + line, flush=True)).run(
        timeout_s=args.timeout)
    dest = OUT / name
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run_dir / "final" / "adapter.safetensors", dest / "adapter.safetensors")
    shutil.copyfile(run_dir / "progress.jsonl", dest / "progress.jsonl")
    heldout = summary["heldout"]
    return {
        "name": name,
        "family": settings.tasks.family,
        "tool": settings.tasks.tool,
        "adapter": f"specialists/{name}/adapter.safetensors",
        "steps": summary["steps"],
        "seed": settings.tasks.seed,
        "settings": json.loads(settings.model_dump_json()),
        "heldout_seed_key": "echo_heldout",
        "heldout_before": heldout[0],
        "heldout_after": heldout[-1],
        "heldout_curve": heldout,
        "training_wall_s": summary["wall_s"],
        "total_s": time.perf_counter() - t0,
        "run_dir": str(run_dir),
    }


def publish(entries: list[dict], args: argparse.Namespace, base_sha: str) -> dict:
    """Publish each adapter as the next policy version; returns where."""
    from chain.client import ChainClient
    from echo_sync.registry import PolicyRegistryClient
    from core.hashing import sha256_file

    def go(registry: PolicyRegistryClient, where: str) -> dict:
        for e in entries:
            path = ROOT / e["adapter"]
            e["sha256"] = sha256_file(path)
            e["bytes"] = path.stat().st_size
            version = registry.latest_version() + 1
            uri = f"{e['adapter']}#base={base_sha}"
            registry.publish(version, e["sha256"], uri)
            record = registry.get(version)
            assert record is not None and record.sha256 == e["sha256"], "registry does not return what was published"
            e["policy_version"], e["policy_uri"] = version, uri
        return {"chain": where, "address": registry.address}

    if args.rpc_url:
        key = os.environ.get("SYMPHONY_PRIVATE_KEY")
        if not key or not args.registry:
            raise SystemExit("--rpc-url needs --registry and $SYMPHONY_PRIVATE_KEY (a publisher of that registry)")
        return go(PolicyRegistryClient(ChainClient(args.rpc_url, key), args.registry), args.rpc_url)
    from chain.node import AnvilNode

    with AnvilNode() as node:
        client = ChainClient(node.rpc_url, node.dev_accounts[0].key.to_0x_hex())  # anvil dev key: local only
        return go(PolicyRegistryClient.deploy(client), "embedded anvil (ephemeral: rerun with --rpc-url to persist)")


def main() -> int:
    from echo_sync.recipes import SPECIALISTS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default=",".join(SPECIALISTS), help="comma-separated specialist names")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--heldout", type=int, default=40, help="held-out questions per measurement")
    p.add_argument("--heldout-every", type=int, default=50)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--work", type=Path, default=ROOT / "build" / "specialists", help="run folders")
    p.add_argument("--timeout", type=float, default=4 * 3600)
    p.add_argument("--publish-only", action="store_true", help="publish the adapters already in specialists/")
    p.add_argument("--rpc-url", help="publish on this chain instead of an embedded anvil")
    p.add_argument("--registry", help="PolicyRegistry address on --rpc-url")
    args = p.parse_args()

    from agents.llm.adapter_file import base_model_hash
    from echo_sync.runtime import resolve_model_path

    names = [n for n in args.only.split(",") if n]
    unknown = [n for n in names if n not in SPECIALISTS]
    if unknown:
        p.error(f"unknown specialist(s) {unknown}; known: {', '.join(SPECIALISTS)}")
    model = resolve_model_path(None)
    manifest_path = OUT / "manifest.json"
    old = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"specialists": []}
    kept = {e["name"]: e for e in old.get("specialists", [])}
    if not args.publish_only:
        for name in names:
            kept[name] = train_one(name, args, model)
            _write(manifest_path, model, base_model_hash(model), list(kept.values()), old.get("registry"))
    entries = [kept[n] for n in SPECIALISTS if n in kept]
    registry = publish(entries, args, base_model_hash(model))
    _write(manifest_path, model, base_model_hash(model), entries, registry)
    for e in entries:
        b, a = e["heldout_before"], e["heldout_after"]
        print(f"{e['name']:<24} {e['family']:<18} held-out {b['accuracy']:.0%} [{b['ci95'][0]:.0%}, {b['ci95'][1]:.0%}] -> "
              f"{a['accuracy']:.0%} [{a['ci95'][0]:.0%}, {a['ci95'][1]:.0%}]  (n={a['n']}, {e['steps']} steps)  v{e['policy_version']}")
    print(f"wrote {manifest_path}")
    return 0


def _write(path: Path, model: Path, base_sha: str, entries: list[dict], registry: dict | None) -> None:
    import platform

    import torch

    path.write_text(json.dumps({
        "base_model": {"name": "SmolLM2-135M-Instruct", "folder": model.name, "sha256": base_sha,
                       "hash": "sha256 over sorted (file name, sha256) of the folder's *.safetensors"},
        "registry": registry,
        "command": "scripts/train_specialists.py " + " ".join(sys.argv[1:]),
        "environment": {"device": "cpu", "cores": len(os.sched_getaffinity(0)), "torch": torch.__version__,
                        "python": platform.python_version(), "threads_per_process": 1},
        "specialists": entries,
    }, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
