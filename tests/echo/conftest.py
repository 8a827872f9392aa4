"""Echo fixtures: the tiny random model (built once per session) and a fresh PolicyRegistry per test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    from agents.llm.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("echo-tiny") / "model")


@pytest.fixture(scope="session")
def registry_artifact():
    from chain.compile import compile_contracts

    artifacts = compile_contracts()
    if "PolicyRegistry" not in artifacts:
        pytest.skip("contracts/echo/PolicyRegistry.sol is not in the tree yet")
    return artifacts["PolicyRegistry"]


@pytest.fixture
def registry(anvil, registry_artifact):
    """A freshly deployed PolicyRegistry, with dev account 0 as publisher (anvil dev key, local chain only)."""
    from chain.client import ChainClient
    from echo_sync.registry import PolicyRegistryClient

    client = ChainClient(anvil.rpc_url, anvil.dev_accounts[0].key.to_0x_hex())
    return PolicyRegistryClient.deploy(client, registry_artifact)
