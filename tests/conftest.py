"""Shared pytest fixtures: one anvil per session, the core contracts deployed once, a snapshot per test, and a
tiny random LLM (built once per session: building it is cheap, loading transformers is not).

`pytest --fork-url URL` runs every chain test against a fork of URL instead of an empty local chain; the
contracts are then deployed on the fork (the origin is never written to).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from chain.client import ChainClient
from chain.deploy import Manifest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--fork-url", default=None, help="run the chain tests against a fork of this RPC endpoint")
    parser.addoption("--run-slow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip_slow = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(scope="session")
def fork_url(request: pytest.FixtureRequest) -> str | None:
    return request.config.getoption("--fork-url")


@pytest.fixture(scope="session")
def anvil(fork_url: str | None):
    """The session's chain: an empty anvil, or a fork of --fork-url."""
    from chain.node import AnvilNode

    node = AnvilNode(fork_url=fork_url)
    node.start()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def artifacts():
    from chain.compile import compile_contracts

    return compile_contracts()


@pytest.fixture(scope="session")
def deployment(anvil, artifacts) -> Manifest:
    """Core contracts deployed once per session by dev account 0."""
    from chain.deploy import deploy_symphony
    from chain.settings import ChainSettings

    deployer = ChainClient(anvil.rpc_url, anvil.dev_accounts[0].key.to_0x_hex())
    return deploy_symphony(deployer, ChainSettings(min_stake_wei=10**16, deregister_cooldown_s=60), artifacts=artifacts)


@dataclass
class ChainFixture:
    """Everything a chain test needs; each test starts from the same snapshot."""

    node: object
    manifest: Manifest

    def client(self, index: int = 0) -> ChainClient:
        """A fresh client (fresh nonce) for dev account `index` (0 deployed the contracts)."""
        return ChainClient(self.node.rpc_url, self.node.dev_accounts[index].key.to_0x_hex())

    def contracts(self, index: int = 0):
        from chain.bindings import SymphonyContracts

        return SymphonyContracts.bind(self.client(index), self.manifest)


@pytest.fixture
def chain(anvil, deployment) -> Iterator[ChainFixture]:
    """Per-test isolation: evm_snapshot before, evm_revert after."""
    snapshot = anvil.snapshot()
    try:
        yield ChainFixture(anvil, deployment)
    finally:
        anvil.revert(snapshot)


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    from agents.llm.tiny import build_tiny_model

    torch.set_num_threads(1)
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model") / "tiny", seed=0)


@pytest.fixture(scope="session")
def smollm() -> Path:
    """The default model (SmolLM2-135M-Instruct), converted by set-up; prepared here if set-up did not."""
    from agents.llm.models import prepare_default_model

    return Path(prepare_default_model())
