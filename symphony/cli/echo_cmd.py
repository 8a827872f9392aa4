"""`symphony echo run|trainer|sampler|deploy-registry`: Echo RL post-training with decoupled swarms.

`run` starts everything locally (embedded anvil, PolicyRegistry, trainer ranks and samplers as processes, each
started as `symphony echo trainer|sampler --spec FILE`); `trainer` and `sampler` run one role from a spec file
(written by `run`, or by hand for a multi-machine set-up, see docs/echo.md); `deploy-registry` deploys a
PolicyRegistry for such a set-up.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from symphony.cli.options import command, config, csv, flag, setting


def role_command(role: str, spec: Path) -> list[str]:
    """How a local run starts one of its processes: this CLI, in the same interpreter."""
    return [sys.executable, "-m", "symphony.cli.main", "echo", role, "--spec", str(spec)]


def register(subparsers: argparse._SubParsersAction) -> None:
    echo = subparsers.add_parser("echo", help="Echo: RL post-training with decoupled inference and training swarms")
    sub = echo.add_subparsers(dest="echo_command", metavar="SUBCOMMAND", required=True)

    run = command(sub, "run", "run trainer + samplers locally on an embedded anvil, print progress and a summary")
    _settings_options(run)
    run.add_argument("--tiny", action="store_true", help="use a tiny random model (protocol checks only; rewards stay ~0)")
    run.add_argument("--json", action="store_true", help="print the final summary as JSON")
    run.set_defaults(func=_run)

    trainer = command(sub, "trainer", "one trainer rank from a spec file (publisher key from $ECHO_PUBLISHER_KEY on rank 0)")
    trainer.add_argument("--spec", type=Path, required=True, help="TrainerSpec JSON (see docs/echo.md)")
    trainer.set_defaults(func=_trainer)

    sampler = command(sub, "sampler", "one sampler node from a spec file: verifies weights against the chain, serves /generate")
    sampler.add_argument("--spec", type=Path, required=True, help="SamplerSpec JSON (see docs/echo.md)")
    sampler.set_defaults(func=_sampler)

    deploy = command(sub, "deploy-registry", "deploy a PolicyRegistry (deployer = first publisher) and print its address")
    setting(deploy, "--rpc-url", path="chain.rpc_url", help="the endpoint to deploy to (required)")
    setting(deploy, "--key-env", path="chain.private_key_env", help="environment variable holding the deployer key")
    deploy.set_defaults(func=_deploy_registry)

    revoke = command(sub, "revoke", "revoke a policy version on the registry (owner or its publisher): samplers stop serving it")
    setting(revoke, "--rpc-url", path="chain.rpc_url", help="the registry's chain (required)")
    setting(revoke, "--key-env", path="chain.private_key_env", help="environment variable holding the owner/publisher key")
    revoke.add_argument("--registry", required=True, help="PolicyRegistry address")
    revoke.add_argument("--version", dest="policy_version", type=int, required=True, help="the version to revoke")
    revoke.add_argument("--reason", default="", help="why (kept in the PolicyRevoked event, at most 256 bytes)")
    revoke.set_defaults(func=_revoke)


def _settings_options(p: argparse.ArgumentParser) -> None:
    setting(p, "--mode", path="echo.mode", choices=["sequential", "async", "colocated"], help="how the swarms synchronise")
    setting(p, "--model", path="echo.model_path", help="Hugging Face model folder (none: SmolLM2-135M-Instruct)")
    setting(p, "--steps", path="echo.steps", type=int, help="optimiser steps")
    setting(p, "--trainers", path="echo.trainers", type=int, help="data-parallel trainer processes")
    setting(p, "--samplers", path="echo.samplers", type=int, help="sampler processes")
    setting(p, "--max-staleness", path="echo.max_staleness", type=int, help="S: a rollout of version v is usable while current - v <= S")
    setting(p, "--stale-policy", path="echo.stale_policy", choices=["drop", "requeue"], help="what happens to a too-stale rollout")
    setting(p, "--buffer-capacity", path="echo.buffer_capacity", type=int, help="replay buffer size in groups")
    setting(p, "--group-size", path="echo.grpo.group_size", type=int, help="completions per prompt (G)")
    setting(p, "--groups-per-step", path="echo.grpo.groups_per_step", type=int, help="prompts per optimiser step")
    setting(p, "--max-new-tokens", path="echo.sampling.max_new_tokens", type=int, help="tokens per completion")
    setting(p, "--temperature", path="echo.sampling.temperature", type=float, help="sampling temperature")
    setting(p, "--lr", path="echo.grpo.learning_rate", type=float, help="learning rate")
    setting(p, "--kl-beta", path="echo.grpo.kl_beta", type=float, help="weight of the KL penalty to the initial policy")
    setting(p, "--datasets", path="echo.tasks.datasets", type=csv, help="comma-separated reasoning-gym tasks (one-turn rollouts)")
    setting(p, "--family", path="echo.tasks.family", help="task family for tool-using rollouts (e.g. basic_arithmetic)")
    setting(p, "--tool", path="echo.tasks.tool", choices=["calculator", "calculator_schema"],
            help="the rollouts' tool: calculator grounded in the question, or its schema only")
    setting(p, "--heldout", path="echo.tasks.heldout_size", type=int, help="held-out questions per measurement (tool rollouts)")
    setting(p, "--heldout-every", path="echo.tasks.heldout_every", type=int, help="held-out accuracy every N steps")
    setting(p, "--policy", path="echo.policy", choices=["lora", "full"], help="a policy version is a LoRA adapter or the full weights")
    setting(p, "--lora-rank", path="echo.lora.rank", type=int, help="LoRA rank of the adapter")
    setting(p, "--is-cap", path="echo.grpo.is_cap", type=float, help="truncation of the stale-rollout importance weight")
    setting(p, "--wall-budget", path="echo.wall_budget_s", type=float, help="stop training after this many seconds")
    setting(p, "--threads", path="echo.torch_threads", type=int, help="torch threads per process")
    flag(p, "--pin-cpus", path="echo.pin_cpus", help="pin each process to one core")
    setting(p, "--run-dir", path="echo.run_dir", type=Path, help="where weights, logs and summary.json go")


def _run(args: argparse.Namespace) -> int:
    import tempfile

    from echo_sync.launcher import LocalRun, format_summary
    from echo_sync.runtime import resolve_model_path
    from echo_sync.tasks import make_tasks

    settings = config(args).echo
    make_tasks(settings.tasks)  # validates dataset / family names before anything starts
    run_dir = settings.run_dir or Path(tempfile.mkdtemp(prefix="echo-run-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    if args.tiny:
        from agents.llm.tiny import build_tiny_model

        model = build_tiny_model(run_dir / "tiny-model")
    else:
        model = resolve_model_path(settings.model_path)
    print(f"echo: mode={settings.mode} model={model} steps={settings.steps} trainers={settings.trainers} "
          f"samplers={settings.samplers} S={settings.max_staleness} run_dir={run_dir}", flush=True)
    summary = LocalRun(settings, model, role_command, run_dir, log=lambda line: print(line, flush=True)).run()
    if args.json:
        print(json.dumps({k: v for k, v in summary.items() if k != "samplers"}, indent=2))
    else:
        print(format_summary(summary))
    return 0


def _read_spec(model, path: Path):  # noqa: ANN001 - a pydantic model class
    from pydantic import ValidationError

    from core.errors import ConfigError

    try:
        return model.model_validate_json(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read spec {path}: {exc.strerror}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"invalid spec {path} at {'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def _trainer(args: argparse.Namespace) -> int:
    import os

    from echo_sync.specs import PUBLISHER_KEY_ENV, TrainerSpec
    from echo_sync.trainer_process import run_trainer

    spec = _read_spec(TrainerSpec, args.spec)
    summary = run_trainer(spec, os.environ.get(PUBLISHER_KEY_ENV) if spec.rank == 0 else None)
    if summary is not None:
        from echo_sync.metrics import summarize

        m = summarize(summary, [])
        print(f"echo trainer: {m['steps']} steps, {m['samples']} samples in {m['wall_s']:.1f} s, "
              f"mean staleness {m['mean_staleness']:.2f}, reward end {m['reward_end']:.3f}")
    return 0


def _sampler(args: argparse.Namespace) -> int:
    from echo_sync.sampler_process import run_sampler
    from echo_sync.specs import SamplerSpec

    spec = _read_spec(SamplerSpec, args.spec)
    print(f"echo sampler {spec.sampler_id}: serving on {spec.host}:{spec.port or '(any port)'}", flush=True)
    run_sampler(spec)
    return 0


def _deploy_registry(args: argparse.Namespace) -> int:
    from chain.client import ChainClient, private_key_from_env
    from core.errors import ConfigError
    from echo_sync.registry import PolicyRegistryClient

    chain = config(args).chain
    if not chain.rpc_url:
        raise ConfigError("deploy-registry needs an RPC endpoint: --rpc-url or SYMPHONY_CHAIN__RPC_URL")
    client = ChainClient(chain.rpc_url, private_key_from_env(chain.private_key_env), expected_chain_id=chain.chain_id)
    print(PolicyRegistryClient.deploy(client).address)
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from chain.client import ChainClient, private_key_from_env
    from core.errors import ConfigError
    from echo_sync.registry import PolicyRegistryClient

    chain = config(args).chain
    if not chain.rpc_url:
        raise ConfigError("revoke needs an RPC endpoint: --rpc-url or SYMPHONY_CHAIN__RPC_URL")
    client = ChainClient(chain.rpc_url, private_key_from_env(chain.private_key_env), expected_chain_id=chain.chain_id)
    registry = PolicyRegistryClient(client, args.registry)
    registry.revoke(args.policy_version, args.reason)
    print(f"revoked v{args.policy_version}; latest valid version is now {registry.latest_valid_version()}")
    return 0
