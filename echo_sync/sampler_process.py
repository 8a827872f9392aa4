"""One sampler process, as `symphony echo sampler --spec FILE` runs it.

Loads the backend, catches up to the newest on-chain version (a restarted node rejoins at the head), then
serves /generate and, in async mode, pushes rollouts to the trainer until told to stop.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from echo_sync.specs import SAMPLER_KEY_ENV, SamplerSpec


def build_node(spec: SamplerSpec):
    from agents.llm.transformers_backend import TransformersBackend
    from chain.client import ChainClient
    from echo_sync.registry import PolicyRegistryClient
    from echo_sync.sampler_node import SamplerNode
    from echo_sync.tasks import make_tasks

    s = spec.settings
    backend = TransformersBackend(spec.model_path, device="cpu" if not _cuda() else "auto", max_batch_size=64)
    registry = PolicyRegistryClient(ChainClient(spec.rpc_url), spec.registry_address)  # reads: no key
    key = os.environ.get(SAMPLER_KEY_ENV)  # the node's own account announces what it serves (PolicyServed)
    announcer = PolicyRegistryClient(ChainClient(spec.rpc_url, key), spec.registry_address) if key else None
    tasks = make_tasks(s.tasks)
    base = None
    if s.policy == "lora":
        from agents.llm.adapter_file import base_model_hash

        base = base_model_hash(spec.model_path)
    return SamplerNode(spec.sampler_id, backend, registry, tasks, s.sampling, s.grpo.group_size, Path(spec.cache_dir),
                       base_sha256=base, max_bytes=s.lora.max_bytes if base else None, announcer=announcer)


def run_sampler(spec: SamplerSpec) -> None:
    from echo_sync.runtime import setup_process
    from echo_sync.sampler_service import serve

    setup_process(spec.settings.torch_threads, spec.cpu)
    import torch
    import zlib

    torch.manual_seed(spec.settings.tasks.seed + zlib.crc32(spec.sampler_id.encode()))  # distinct, reproducible streams
    node = build_node(spec)
    try:
        node.catch_up()  # a (re)started node loads the newest published version before serving
    except Exception as exc:  # noqa: BLE001 - a bad latest version must not keep the node down
        print(f"echo sampler {spec.sampler_id}: could not catch up at start: {exc}", file=sys.stderr, flush=True)

    async def main() -> None:
        task = asyncio.ensure_future(
            serve(node, spec.host, spec.port, spec.ready_file, spec.trainer_url, spec.tasks_per_request)
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            pass

    try:
        asyncio.run(main())
    finally:
        node.stop_announcing()  # PolicyServed(version 0): this node serves nothing any more


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()
