"""Echo fixtures: the tiny random model (built once per session) and a fresh PolicyRegistry per test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    from agents.llm.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("echo-tiny") / "model")


@pytest.fixture(scope="session")
def registry_artifact(artifacts):
    """The compiled PolicyRegistry, from the session's compile of contracts/.

    Why no skip: the registry is part of the tree, so a contract that does not compile (ToolchainError from
    `compile_contracts`) or no longer produces a deployable PolicyRegistry must make every registry test fail.
    """
    artifact = artifacts.get("PolicyRegistry")
    if artifact is None or not artifact.deployable:
        pytest.fail("contracts/echo/PolicyRegistry.sol produced no deployable PolicyRegistry contract", pytrace=False)
    return artifact


@pytest.fixture
def registry(anvil, registry_artifact):
    """A freshly deployed PolicyRegistry, with dev account 0 as publisher (anvil dev key, local chain only)."""
    from chain.client import ChainClient
    from echo_sync.registry import PolicyRegistryClient

    client = ChainClient(anvil.rpc_url, anvil.dev_accounts[0].key.to_0x_hex())
    return PolicyRegistryClient.deploy(client, registry_artifact)


@pytest.fixture
def trainer_side(tiny_model, registry, tmp_path):
    """The tiny model and a publisher serving its versions over HTTP, recorded in `registry`."""
    from core.http import BackgroundServer
    from echo_sync.publisher import PolicyPublisher
    from echo_sync.trainer import load_causal_lm
    from echo_sync.trainer_app import TrainerEndpoint
    from echo_sync.weights import PolicyStore

    model, _ = load_causal_lm(tiny_model)
    publisher = PolicyPublisher(PolicyStore(tmp_path / "policies"), registry, "http://unset")
    server = BackgroundServer(TrainerEndpoint(publisher).app()).start()
    publisher.base_url = server.url
    yield model, publisher
    server.stop()


@pytest.fixture
def node(tiny_model, registry, tmp_path, anvil):
    """A sampler node on the tiny model that reads `registry` without a key."""
    import torch

    from agents.llm.transformers_backend import TransformersBackend
    from chain.client import ChainClient
    from echo_sync.registry import PolicyRegistryClient
    from echo_sync.sampler_node import SamplerNode
    from echo_sync.settings import SamplingSettings
    from echo_sync.tasks import TaskSet

    torch.set_num_threads(1)
    reader = PolicyRegistryClient(ChainClient(anvil.rpc_url), registry.address, registry.contract.abi)  # no key
    backend = TransformersBackend(tiny_model, device="cpu", dtype="float32")
    return SamplerNode("s0", backend, reader, TaskSet(("chain_sum",)), SamplingSettings(max_new_tokens=4), 2, tmp_path / "cache")
