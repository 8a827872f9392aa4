"""The chain section of Symphony's configuration (composed into `symphony.config.SymphonyConfig`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from core.paths import state_dir


class LocalChainSettings(BaseModel):
    """`symphony chain up`: the embedded anvil and where it keeps state between runs."""

    port: int = Field(8545, ge=0, le=65535, description="port on 127.0.0.1 (0: any free port)")
    chain_id: int = Field(31337, ge=1, description="chain id of a fresh local chain (a fork keeps its origin's)")
    fork_url: str | None = Field(None, description="fork this RPC endpoint instead of starting an empty chain")
    state_path: Path | None = Field(None, description="load chain state from this file if it exists, dump it there on exit")
    block_time_s: float | None = Field(None, gt=0, description="mine every N seconds instead of on every transaction")


class ChainSettings(BaseModel):
    """Where the chain is and how Symphony's contracts are parameterised on it."""

    rpc_url: str | None = Field(None, description="RPC endpoint; None starts an embedded anvil")
    ws_url: str | None = Field(None, description="websocket endpoint for new-block wake-ups (optional)")
    chain_id: int | None = Field(None, description="refuse to talk to any other chain")
    private_key_env: str = Field("SYMPHONY_PRIVATE_KEY", description="environment variable holding the signing key")
    manifest: Path = Field(default_factory=lambda: state_dir() / "deployment.json",
                           description="deployment manifest written by deploy (default: <state dir>/deployment.json)")
    confirmations: int = Field(0, ge=0, description="blocks an event stream holds back (reorg safety on real chains)")
    min_stake_wei: int = Field(10**16, ge=0)
    deregister_cooldown_s: int = Field(60, ge=0)
    max_payload_bytes: int = Field(8192, ge=64, le=65536)
    min_evidence_reward_wei: int = Field(10**12, ge=0, description="smallest reward per executor whose successes count as evidence")
    # The commit phase ends as soon as every live final slot committed; the window only bounds a missing voter.
    commit_window_s: int = Field(600, ge=1)
    reveal_window_s: int = Field(300, ge=1)
    local: LocalChainSettings = LocalChainSettings()
