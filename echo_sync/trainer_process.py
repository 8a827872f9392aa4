"""One trainer process (rank r of a torch.distributed group), as `symphony echo trainer --spec FILE` runs it.

Rank 0 additionally serves weights over HTTP, publishes versions on chain and owns the batch source.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from echo_sync.specs import PUBLISHER_KEY_ENV, TrainerSpec


def run_trainer(spec: TrainerSpec, publisher_key: str | None = None, on_step=None) -> dict | None:
    """Run the whole training job for this rank; rank 0 returns (and writes) the summary.

    `on_step(stats, batch)` runs on rank 0 after each step (tests use it to inject faults at exact points)."""
    from echo_sync.runtime import setup_process

    setup_process(spec.settings.torch_threads, spec.cpu)
    import torch
    import torch.distributed as dist

    torch.manual_seed(spec.settings.tasks.seed)  # reproducible sampling in co-located mode, LoRA init everywhere

    from echo_sync.loop import train
    from echo_sync.tasks import make_tasks
    from echo_sync.trainer import GRPOTrainer, load_causal_lm

    s = spec.settings
    run_dir = Path(spec.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if spec.world_size > 1:
        backend_name = "nccl" if _cuda() else "gloo"
        dist.init_process_group(
            backend_name, init_method=f"tcp://127.0.0.1:{spec.master_port}", rank=spec.rank, world_size=spec.world_size
        )
    tasks = make_tasks(s.tasks)
    closers: list = []
    source = publish = evaluate = None
    endpoint = None
    try:
        backend = None
        if spec.rank == 0:
            # Rank 0 trains the model of a generating backend: co-located mode samples with it, every mode
            # measures held-out accuracy with it (the same tool rollout, greedy).
            from agents.llm.transformers_backend import TransformersBackend

            backend = TransformersBackend(spec.model_path, device="cpu", dtype="float32")
            model, tokenizer = backend.model, backend.tokenizer
        else:
            model, tokenizer = load_causal_lm(spec.model_path)
        if s.policy == "lora":
            from echo_sync.adapters import apply_lora

            model = apply_lora(model, s.lora)
            if backend is not None:
                backend.model = model
        trainer = GRPOTrainer(model, tokenizer, s.grpo, tasks, spec.rank, spec.world_size, s.sampling.temperature)
        if spec.rank == 0:
            source, publish, endpoint, closers = _rank0_plumbing(spec, tasks, backend, trainer, publisher_key)
            if s.tasks.family is not None and s.tasks.heldout_size > 0:
                evaluate = heldout_evaluator(backend, s)
        result = train(
            trainer, source, publish, s.steps, s.grpo.groups_per_step, s.wall_budget_s,
            progress=run_dir / "progress.jsonl" if spec.rank == 0 else None, on_step=on_step,
            evaluate=evaluate, eval_every=s.tasks.heldout_every,
        )
        if spec.rank != 0:
            return None
        if s.policy == "lora":  # the run's result as one file (train_specialists ships it)
            from agents.llm.adapter_file import base_model_hash
            from echo_sync.adapters import write_adapter

            write_adapter(trainer.model, run_dir / "final" / "adapter.safetensors", base_model_hash(spec.model_path))
        summary = {
            "mode": s.mode,
            "model_path": spec.model_path,
            "world_size": spec.world_size,
            "settings": json.loads(s.model_dump_json()),
            **result.to_json(),
        }
        if endpoint is not None and endpoint.buffer is not None:
            summary["buffer"] = endpoint.buffer.stats.to_json()
        if hasattr(source, "dead"):
            summary["dead_samplers"] = list(source.dead)  # type: ignore[union-attr]
        if hasattr(source, "generate_s"):
            summary["colocated_generate_s"] = source.generate_s  # type: ignore[union-attr]
        (run_dir / "trainer_summary.json").write_text(json.dumps(summary, indent=2))
        return summary
    finally:
        if endpoint is not None:
            endpoint.stop.set()
            time.sleep(1.0)  # let pushing samplers read {"stop": true} before the server goes away
        for close in reversed(closers):
            close()
        if spec.world_size > 1 and dist.is_initialized():
            dist.destroy_process_group()


def heldout_evaluator(backend, s):  # noqa: ANN001, ANN201 - (TransformersBackend, EchoSettings) -> callable
    """Held-out accuracy of the backend's current policy: questions never trained on, greedy, 95 % Wilson."""
    from core.stats import wilson
    from echo_sync.tasks import make_tasks
    from echo_sync.tool_tasks import heldout_accuracy

    heldout = make_tasks(s.tasks, split="heldout")

    def evaluate() -> dict:
        correct, n = heldout_accuracy(backend, heldout, s.tasks.heldout_size, s.sampling.max_new_tokens)
        return {"correct": correct, "n": n, "accuracy": correct / n, "ci95": list(wilson(correct, n))}

    return evaluate


def _rank0_plumbing(spec: TrainerSpec, tasks, backend, trainer, publisher_key: str | None):
    """Batch source, publish callable, HTTP endpoint and clean-up callbacks for rank 0."""
    from chain.client import ChainClient
    from core.errors import ConfigError
    from core.http import BackgroundServer
    from echo_sync.publisher import PolicyPublisher
    from echo_sync.registry import PolicyRegistryClient
    from echo_sync.replay_buffer import ReplayBuffer
    from echo_sync.sources import AsyncSource, ColocatedSource, SequentialSource
    from echo_sync.task_stream import TaskStream
    from echo_sync.trainer_app import TrainerEndpoint
    from echo_sync.weights import PolicyStore

    s = spec.settings
    stream = TaskStream()
    if s.mode == "colocated":
        return ColocatedSource(backend, tasks, stream, s.sampling, s.grpo.group_size), None, None, []
    if not (spec.rpc_url and spec.registry_address and publisher_key):
        raise ConfigError(f"mode {s.mode!r} needs rpc_url, registry_address and the publisher key (env {PUBLISHER_KEY_ENV})")
    registry = PolicyRegistryClient(ChainClient(spec.rpc_url, publisher_key), spec.registry_address)
    # Samplers may still fetch a version up to max_staleness behind the newest (plus one being published).
    base = None
    if s.policy == "lora":
        from agents.llm.adapter_file import base_model_hash

        base = base_model_hash(spec.model_path)
    store = PolicyStore(Path(spec.run_dir) / "policies", keep=max(s.keep_versions, s.max_staleness + 2), base_sha256=base)
    publisher = PolicyPublisher(store, registry, "http://placeholder")
    buffer = None
    if s.mode == "async":
        buffer = ReplayBuffer(s.buffer_capacity, s.max_staleness, publisher.sha_of, s.stale_policy, stream.requeue,
                              is_revoked=publisher.is_revoked)
    endpoint = TrainerEndpoint(publisher, buffer, stream if buffer is not None else None)
    server = BackgroundServer(endpoint.app(), spec.host, spec.port).start()
    publisher.base_url = server.url
    if spec.ready_file:
        Path(spec.ready_file + ".tmp").write_text(json.dumps({"url": server.url}))
        os.replace(spec.ready_file + ".tmp", spec.ready_file)
    if spec.start_gate:
        _wait_for(Path(spec.start_gate))
    if s.mode == "sequential":
        from echo_sync.control import CONTROL_SECRET_ENV, secret_from_env

        secret = secret_from_env()
        if secret is None:
            raise ConfigError(f"sequential mode signs its requests to the samplers: set ${CONTROL_SECRET_ENV} "
                              "(the same secret on every sampler)")
        source = SequentialSource(spec.sampler_urls, stream, control_secret=secret)
    else:
        assert buffer is not None
        source = AsyncSource(buffer)
    return source, lambda: publisher.publish(trainer.model), endpoint, [server.stop, source.close]


def _wait_for(gate: Path, timeout_s: float = 900.0) -> None:
    """Async mode: samplers need the trainer's URL to start, but the trainer's clock must not run while they
    load their models (sequential mode starts samplers first), so rank 0 waits for the launcher's go."""
    deadline = time.monotonic() + timeout_s
    while not gate.exists():
        if time.monotonic() > deadline:
            from core.errors import SymphonyError

            raise SymphonyError(f"samplers did not start within {timeout_s:.0f} s")
        time.sleep(0.05)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()
