"""Build a ready-to-run agent worker or requester from configuration (the CLI and the demo share this)."""

from __future__ import annotations

from pathlib import Path

from agents.profile import AgentProfile
from chain.connection import connect
from core.errors import ConfigError
from chain.settings import ChainSettings


def build_tools(profile: AgentProfile) -> list[object]:
    """The real tools this agent declares (sandboxed Python, calculator, retrieval over its corpus)."""
    from agents.tool_use import build_tools as tools_by_name

    if "retrieval" in profile.tools and (profile.corpus is None or not Path(profile.corpus).is_dir()):
        raise ConfigError(f"agent {profile.name} declares the retrieval tool but its corpus folder is missing: {profile.corpus}")
    tools = tools_by_name(profile.tools, profile.corpus)
    if not profile.tool_examples:
        for tool in tools:
            tool.examples = ()  # on the instance: offered by schema and description only, as Echo trained it
    return tools


def capability_vector(profile: AgentProfile) -> bytes:
    """The bytes32 the ledger stores: the centroid of the measured example tasks when the profile lists them,
    else the embedding of the declared text."""
    from agents.capability import encode_centroid, encode_vector

    return encode_centroid(profile.capability_examples) if profile.capability_examples else encode_vector(profile.capability)


def model_id(profile: AgentProfile) -> str:
    """What the ledger lists as the agent's model: the profile's own id; else the served adapter's sha256 (the
    hash PolicyRegistry records for an Echo policy version, so anyone can check which weights answered); else the
    model folder's name with the sha256 of its weights (agents.llm.adapter_file.base_model_hash: the hash an adapter
    names as its base); else the hub id."""
    if profile.model_id:
        return profile.model_id
    if profile.llm.adapter is not None:
        from core.hashing import sha256_file

        adapter = Path(profile.llm.adapter)
        if not adapter.is_file():
            raise ConfigError(f"agent {profile.name}: LoRA adapter {adapter} not found")
        return "sha256:" + sha256_file(adapter)
    from agents.llm.factory import resolve_model

    model = resolve_model(profile.llm)
    if Path(model).is_dir() and any(Path(model).glob("*.safetensors")):
        from agents.llm.adapter_file import base_model_hash

        return f"{Path(model).name}@sha256:{base_model_hash(model)}"
    return model


def build_worker(profile: AgentProfile, chain: ChainSettings, private_key: str | None = None, *, backend=None):
    """An AgentWorker for `profile` on the deployment `chain` names; the key is `private_key` or read from the
    environment variable `chain.private_key_env`; `backend` may be shared (tests) or is loaded from `profile.llm`."""
    from agents.executor import StepExecutor
    from agents.llm.factory import load_backend
    from agents.worker import AgentWorker

    contracts = connect(chain, signer=True, private_key=private_key).contracts()
    backend = backend or load_backend(profile.llm)
    executor = StepExecutor(backend, profile, build_tools(profile))
    return AgentWorker(profile, contracts, executor, capability_vector(profile), model_id=model_id(profile))
