"""pytest against a forked chain: a fork sees the origin's deployed state, and writes on it stay on the fork.

By default the origin is a local anvil started here with the contracts deployed; `pytest --fork-url URL`
additionally runs the whole chain suite on a fork of URL (the `anvil` fixture forks it).
"""

from __future__ import annotations

from chain.bindings import SymphonyContracts
from chain.client import ChainClient
from chain.deploy import deploy_symphony
from chain.node import AnvilNode
from tests.chain.helpers import register, vector


def test_fork_sees_origin_state_and_does_not_write_back():
    with AnvilNode() as origin:
        deployer = ChainClient(origin.rpc_url, origin.dev_accounts[0].key.to_0x_hex())
        manifest = deploy_symphony(deployer)
        on_origin = SymphonyContracts.bind(ChainClient(origin.rpc_url, origin.dev_accounts[1].key.to_0x_hex()), manifest)
        register(on_origin, "origin-agent", vector(1))
        origin_height = origin.rpc("eth_blockNumber")

        with AnvilNode(fork_url=origin.rpc_url) as fork:
            fork_manifest = manifest.model_copy(update={"rpc_url": fork.rpc_url})
            on_fork = SymphonyContracts.bind(ChainClient(fork.rpc_url, fork.dev_accounts[2].key.to_0x_hex()), fork_manifest)
            # The fork sees what the origin holds...
            assert [a.name for a in on_fork.ledger.active_agents()] == ["origin-agent"]
            # ...and what is written on the fork stays there.
            register(on_fork, "fork-agent", vector(2))
            assert sorted(a.name for a in on_fork.ledger.active_agents()) == ["fork-agent", "origin-agent"]

        assert [a.name for a in on_origin.ledger.active_agents()] == ["origin-agent"]
        assert origin.rpc("eth_blockNumber") == origin_height


def test_session_chain_is_usable(chain, fork_url):
    """Runs on the session chain: an empty anvil, or a fork of --fork-url when given."""
    contracts = chain.contracts(4)
    register(contracts, "session-agent", vector(3))
    assert contracts.ledger.is_active(contracts.client.address)
    if fork_url:
        assert chain.node.fork_url == fork_url
