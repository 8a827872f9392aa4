"""Fixtures for chain-layer tests that use the test-only Probe contract."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def probe_artifacts():
    from chain.compile import compile_contracts

    return compile_contracts(FIXTURES)


@pytest.fixture(scope="session")
def probe_registry(probe_artifacts):
    from chain.reverts import build_error_registry

    return build_error_registry({"Probe": probe_artifacts["Probe"].abi})


@pytest.fixture
def probe(anvil, probe_artifacts, probe_registry, monkeypatch):
    """A freshly deployed Probe plus its client (dev account 1); reverts decode against the Probe's errors."""
    import chain.reverts as reverts
    from chain.client import ChainClient

    monkeypatch.setattr(reverts, "project_error_registry", lambda: probe_registry)
    snapshot = anvil.snapshot()
    client = ChainClient(anvil.rpc_url, anvil.dev_accounts[1].key.to_0x_hex())
    yield client, client.deploy(probe_artifacts["Probe"])
    anvil.revert(snapshot)
