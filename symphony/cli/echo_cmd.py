"""`symphony echo run|trainer|sampler|deploy-registry`: Echo RL post-training with decoupled swarms.

`run` starts everything locally (embedded anvil, PolicyRegistry, trainer ranks and samplers as processes);
`trainer`, `sampler` and `deploy-registry` run one role against an existing chain, for multi-machine setups.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    echo = subparsers.add_parser("echo", help="Echo: RL post-training with decoupled inference and training swarms")
    sub = echo.add_subparsers(dest="echo_command", metavar="SUBCOMMAND", required=True)

    run = sub.add_parser("run", help="run trainer + samplers locally on an embedded anvil, print progress and a summary")
    _add_settings_options(run)
    run.add_argument("--run-dir", type=Path, help="where weights, logs and summary.json go (default: a temp folder)")
    run.add_argument("--json", action="store_true", help="print the final summary as JSON")
    run.set_defaults(func=_run)

    trainer = sub.add_parser("trainer", help="one trainer rank against an existing chain (publisher key from --key-env)")
    _add_settings_options(trainer)
    trainer.add_argument("--rpc-url", required=True)
    trainer.add_argument("--registry", required=True, help="PolicyRegistry address")
    trainer.add_argument("--key-env", default="SYMPHONY_PRIVATE_KEY", help="env variable with the publisher's key")
    trainer.add_argument("--sampler-url", action="append", default=[], help="sampler base URL (sequential mode; repeatable)")
    trainer.add_argument("--host", default="127.0.0.1", help="address to serve weights (and, in async mode, the buffer) on")
    trainer.add_argument("--port", type=int, default=0)
    trainer.add_argument("--rank", type=int, default=0)
    trainer.add_argument("--world-size", type=int, default=None, help="data-parallel ranks (default: --trainers)")
    trainer.add_argument("--master-port", type=int, default=29500)
    trainer.add_argument("--run-dir", type=Path, default=Path("echo-run"))
    trainer.set_defaults(func=_trainer)

    sampler = sub.add_parser("sampler", help="one sampler node: verifies weights against the chain, serves /generate")
    _add_settings_options(sampler)
    sampler.add_argument("--rpc-url", required=True)
    sampler.add_argument("--registry", required=True, help="PolicyRegistry address")
    sampler.add_argument("--id", default="sampler-0")
    sampler.add_argument("--host", default="127.0.0.1")
    sampler.add_argument("--port", type=int, default=0)
    sampler.add_argument("--trainer-url", help="async mode: pull tasks from and push rollouts to this trainer")
    sampler.add_argument("--cache-dir", type=Path, default=Path("echo-cache"))
    sampler.add_argument("--ready-file", help="write {\"url\": ...} here once serving (for scripts that wait on it)")
    sampler.set_defaults(func=_sampler)

    deploy = sub.add_parser("deploy-registry", help="deploy a PolicyRegistry (deployer = first publisher) and print its address")
    deploy.add_argument("--rpc-url", required=True)
    deploy.add_argument("--key-env", default="SYMPHONY_PRIVATE_KEY")
    deploy.set_defaults(func=_deploy_registry)


def _add_settings_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mode", choices=["sequential", "async", "colocated"], default="async")
    model = p.add_mutually_exclusive_group()
    model.add_argument("--model", help="Hugging Face model folder (default: SmolLM2-135M-Instruct, converted locally)")
    model.add_argument("--tiny", action="store_true", help="use a tiny random model (protocol tests; rewards stay ~0)")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--trainers", type=int, default=1, help="data-parallel trainer processes")
    p.add_argument("--samplers", type=int, default=2)
    p.add_argument("--max-staleness", type=int, default=1, help="S: drop/requeue rollouts more than S versions old")
    p.add_argument("--stale-policy", choices=["drop", "requeue"], default="requeue")
    p.add_argument("--buffer-capacity", type=int, default=8, help="replay buffer size in groups (back-pressure beyond it)")
    p.add_argument("--group-size", type=int, default=4)
    p.add_argument("--groups-per-step", type=int, default=4)
    p.add_argument("--max-new-tokens", type=int, default=24)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--lr", type=float, default=1e-5)
    p.add_argument("--kl-beta", type=float, default=0.0)
    p.add_argument("--datasets", default="chain_sum,basic_arithmetic",
                   help="comma-separated reasoning-gym tasks: chain_sum, basic_arithmetic, knights_knaves, sokoban")
    p.add_argument("--wall-budget", type=float, help="stop training after this many seconds")
    p.add_argument("--threads", type=int, default=1, help="torch threads per process")
    p.add_argument("--pin-cpus", action="store_true", help="pin each process to one core")


def _settings(args: argparse.Namespace):
    from pydantic import ValidationError

    from echo_sync.settings import EchoSettings

    try:
        return EchoSettings(
            mode=args.mode, model_path=args.model, steps=args.steps, trainers=args.trainers,
            samplers=0 if args.mode == "colocated" else args.samplers, max_staleness=args.max_staleness,
            stale_policy=args.stale_policy, buffer_capacity=args.buffer_capacity, wall_budget_s=args.wall_budget,
            torch_threads=args.threads, pin_cpus=args.pin_cpus,
            grpo={"group_size": args.group_size, "groups_per_step": args.groups_per_step, "learning_rate": args.lr,
                  "kl_beta": args.kl_beta},
            sampling={"max_new_tokens": args.max_new_tokens, "temperature": args.temperature},
            tasks={"datasets": tuple(d.strip() for d in args.datasets.split(",") if d.strip())},
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "settings"
        raise ConfigError(f"invalid Echo setting {where}: {first['msg']}") from None


def _model_path(args: argparse.Namespace, run_dir: Path) -> Path:
    if args.tiny:
        from agents.llm.tiny import build_tiny_model

        return build_tiny_model(run_dir / "tiny-model")
    from echo_sync.runtime import resolve_model_path

    return resolve_model_path(args.model)


def _run(args: argparse.Namespace) -> int:
    import tempfile

    from echo_sync.launcher import LocalRun, format_summary
    from echo_sync.tasks import TaskSet

    settings = _settings(args)
    TaskSet(settings.tasks.datasets)  # validates dataset names before anything starts
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="echo-run-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    model = _model_path(args, run_dir)
    print(f"echo: mode={settings.mode} model={model} steps={settings.steps} trainers={settings.trainers} "
          f"samplers={settings.samplers} S={settings.max_staleness} run_dir={run_dir}", flush=True)
    summary = LocalRun(settings, model, run_dir, log=lambda line: print(line, flush=True)).run()
    if args.json:
        print(json.dumps({k: v for k, v in summary.items() if k != "samplers"}, indent=2))
    else:
        print(format_summary(summary))
    return 0


def _trainer(args: argparse.Namespace) -> int:
    from chain.client import private_key_from_env
    from echo_sync.specs import TrainerSpec
    from echo_sync.trainer_main import run_trainer

    settings = _settings(args)
    if settings.mode == "colocated":
        raise ConfigError("a co-located run needs no chain: use `symphony echo run --mode colocated`")
    world = args.world_size or settings.trainers
    key = private_key_from_env(args.key_env) if args.rank == 0 else None
    spec = TrainerSpec(
        settings=settings, model_path=str(_model_path(args, args.run_dir)), run_dir=str(args.run_dir), rank=args.rank,
        world_size=world, master_port=args.master_port, rpc_url=args.rpc_url, registry_address=args.registry,
        sampler_urls=args.sampler_url, host=args.host, port=args.port,
    )
    if settings.mode == "sequential" and args.rank == 0 and not args.sampler_url:
        raise ConfigError("sequential mode needs at least one --sampler-url")
    summary = run_trainer(spec, key)
    if summary is not None:
        from echo_sync.metrics import summarize

        m = summarize(summary, [])
        print(f"echo trainer: {m['steps']} steps, {m['samples']} samples in {m['wall_s']:.1f} s, "
              f"mean staleness {m['mean_staleness']:.2f}, reward end {m['reward_end']:.3f}")
    return 0


def _sampler(args: argparse.Namespace) -> int:
    from echo_sync.sampler_main import run_sampler
    from echo_sync.specs import SamplerSpec

    settings = _settings(args)
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    spec = SamplerSpec(
        sampler_id=args.id, settings=settings, model_path=str(_model_path(args, args.cache_dir)), rpc_url=args.rpc_url,
        registry_address=args.registry, cache_dir=str(args.cache_dir), host=args.host, port=args.port,
        trainer_url=args.trainer_url, tasks_per_request=max(1, settings.grpo.groups_per_step // max(settings.samplers, 1)),
        ready_file=args.ready_file,
    )
    print(f"echo sampler {args.id}: serving on {args.host}:{args.port or '(any port)'}", flush=True)
    run_sampler(spec)
    return 0


def _deploy_registry(args: argparse.Namespace) -> int:
    from chain.client import ChainClient, private_key_from_env
    from echo_sync.registry import PolicyRegistryClient

    registry = PolicyRegistryClient.deploy(ChainClient(args.rpc_url, private_key_from_env(args.key_env)))
    print(registry.address)
    return 0
