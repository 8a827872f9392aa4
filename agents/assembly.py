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
    return tools_by_name(profile.tools, profile.corpus)


def build_worker(profile: AgentProfile, chain: ChainSettings, private_key: str | None = None, *, backend=None):
    """An AgentWorker for `profile` on the deployment `chain` names; the key is `private_key` or read from the
    environment variable `chain.private_key_env`; `backend` may be shared (tests) or is loaded from `profile.llm`."""
    from agents.capability import encode_vector
    from agents.executor import StepExecutor
    from agents.llm.factory import load_backend
    from agents.worker import AgentWorker

    contracts = connect(chain, signer=True, private_key=private_key).contracts()
    backend = backend or load_backend(profile.llm)
    executor = StepExecutor(backend, profile, build_tools(profile))
    return AgentWorker(profile, contracts, executor, encode_vector(profile.capability))
