"""A sampler with a key announces on chain what it serves (PolicyServed): after each verified load, 0 when the
version it holds is revoked and when it stops; a failed announcement costs a log line, never the serving."""

from __future__ import annotations

import logging

from eth_account import Account

from chain.client import ChainClient
from echo_sync.registry import PolicyRegistryClient

from .test_weight_sync import perturb


def served_events(registry: PolicyRegistryClient) -> list[tuple[str, int, str]]:
    logs = registry.contract.events.PolicyServed.get_logs(from_block=0)
    return [(e.args.sampler, int(e.args.version), e.args.sha256.hex()) for e in logs]


def test_a_sampler_announces_each_load_a_revocation_it_holds_and_its_stop(trainer_side, node, registry, anvil):
    model, publisher = trainer_side
    signer = ChainClient(anvil.rpc_url, anvil.dev_accounts[3].key.to_0x_hex())  # anvil dev key: local chain only
    node.announcer = PolicyRegistryClient(signer, registry.address, registry.contract.abi)
    node.catch_up()  # nothing published, nothing loaded: nothing to announce (no "serving 0" at start-up)
    assert node.stats.announced == []
    v1 = publisher.publish(model)
    perturb(model, 1)
    v2 = publisher.publish(model)
    node.sync_to(1)
    assert node.stats.announced == [1]
    node.catch_up()
    node.catch_up()  # nothing changed: no second announcement of v2
    assert node.stats.announced == [1, 2]
    publisher.revoke(2, "diverged")
    node.catch_up()  # the version it holds is revoked: it serves nothing until a newer one loads
    assert node.held_revoked and node.stats.announced == [1, 2, 0]
    perturb(model, 2)
    v3 = publisher.publish(model)
    node.catch_up()
    node.stop_announcing()
    node.stop_announcing()  # already said: no second stop
    assert node.stats.announced == [1, 2, 0, 3, 0] and node.stats.announce_errors == 0
    me = signer.address
    assert served_events(registry) == [(me, 1, v1.sha256), (me, 2, v2.sha256), (me, 0, "00" * 32), (me, 3, v3.sha256),
                                       (me, 0, "00" * 32)]


def test_a_failed_announcement_is_logged_and_the_node_keeps_serving(trainer_side, node, registry, anvil, caplog):
    model, publisher = trainer_side
    broke = ChainClient(anvil.rpc_url, Account.create().key.to_0x_hex())  # no ether: every transaction fails
    node.announcer = PolicyRegistryClient(broke, registry.address, registry.contract.abi)
    publisher.publish(model)
    with caplog.at_level(logging.WARNING, logger="symphony.echo.sampler"):
        node.sync_to(1)
    assert node.version == 1 and node.generate([0])[0].policy_version == 1
    assert node.stats.announced == [] and node.stats.announce_errors == 1
    assert "could not announce serving v1" in caplog.text and len(caplog.records) == 1
    assert len(caplog.records[0].getMessage().splitlines()) == 1
    node.catch_up()  # still unannounced: the next check tries again
    assert node.stats.announce_errors == 2 and served_events(registry) == []
