"""What a launcher hands a trainer or sampler process (a JSON file; private keys travel only in env vars).

Why files, not argv: the full settings tree is long, and the same spec can be rerun by hand to debug a node.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from echo_sync.settings import EchoSettings

PUBLISHER_KEY_ENV = "ECHO_PUBLISHER_KEY"
SAMPLER_KEY_ENV = "ECHO_SAMPLER_KEY"  # set: the sampler announces on chain, as this account, the version it serves


class SamplerSpec(BaseModel):
    sampler_id: str
    settings: EchoSettings
    model_path: str
    rpc_url: str
    registry_address: str
    cache_dir: str
    ready_file: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    trainer_url: str | None = None  # set in async mode: push rollouts there
    tasks_per_request: int = 1
    cpu: int | None = None


class TrainerSpec(BaseModel):
    settings: EchoSettings
    model_path: str
    run_dir: str
    rank: int = 0
    world_size: int = 1
    master_port: int = 29500
    rpc_url: str | None = None  # not needed in co-located mode
    registry_address: str | None = None
    sampler_urls: list[str] = []
    host: str = "127.0.0.1"
    port: int = 0
    ready_file: str | None = None  # rank 0 writes {"url": ...} here once it serves weights
    start_gate: str | None = None  # rank 0 starts the clock (and publishes v1) only once this file exists
    cpu: int | None = None


def write_spec(spec: BaseModel, path: Path) -> Path:
    path.write_text(spec.model_dump_json(indent=2))
    return path
