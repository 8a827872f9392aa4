"""`symphony init` — a working set of agent configurations: the network's agents, one file each.

Why: `symphony network up` runs the whole network for you; `init` writes the same agents (agents.network: profile,
capability examples, tools, adapter) as configuration files, so a user can run, change or move each agent on its
own with `symphony agent run --config FILE`, on this machine or another. Keys are never written: each worker reads
its key from the environment.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from symphony.cli.options import command, csv


def register(subparsers: argparse._SubParsersAction) -> None:
    init = command(subparsers, "init", "write one agent configuration per network agent (docs/network.md), ready for "
                                       "`symphony agent run --config`")
    init.add_argument("--dir", type=Path, default=Path("agents"), help="folder to write them to (default: ./agents)")
    init.add_argument("--agents", type=csv, default=None, help="comma-separated network agents (default: all)")
    init.add_argument("--manifest", type=Path, default=None,
                      help="the deployment manifest the agents join (default: <state dir>/deployment.json, "
                           "where `symphony chain up` writes it)")
    init.add_argument("--force", action="store_true", help="overwrite configuration files that exist")
    init.set_defaults(func=_init)


def _init(args: argparse.Namespace) -> int:
    import json

    from agents.network import network_profiles
    from agents.settings import LLMSettings
    from core.errors import ConfigError
    from core.paths import state_dir
    from symphony.workers import profile_config

    manifest = (args.manifest or state_dir() / "deployment.json").resolve()
    # Greedy, short answers: what the demo and the benchmark measured (the model: the default unless configured).
    llm = LLMSettings(max_new_tokens=64, temperature=0.0, seed=1)
    profiles = network_profiles(llm, (state_dir() / "agents").resolve(), names=args.agents)
    paths = [args.dir / f"agent-{p.name}.json" for p in profiles]
    existing = [str(p) for p in paths if p.exists()]
    if existing and not args.force:
        raise ConfigError(f"{existing[0]} exists{f' (and {len(existing) - 1} more)' if len(existing) > 1 else ''}; "
                          "pass --force to overwrite")
    args.dir.mkdir(parents=True, exist_ok=True)
    for profile, path in zip(profiles, paths):
        path.write_text(json.dumps(profile_config(profile, manifest), indent=1) + "\n")
    print(f"wrote {len(paths)} agent configurations to {args.dir}/ (manifest {manifest}):")
    for profile, path in zip(profiles, paths):
        print(f"  {profile.name:<22} {path}")
    print("start `symphony chain up`, then each agent with its own key, e.g. (anvil dev key #1 on a local chain):")
    print(f"  SYMPHONY_PRIVATE_KEY=0x… symphony agent run --config {paths[0]}")
    return 0
