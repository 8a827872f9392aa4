"""Weight sync through the chain: publish, serve over HTTP, verify sha256 on the sampler, refuse tampering."""

from __future__ import annotations

import hashlib

import pytest
import torch

from echo_sync.errors import UnknownPolicyVersion, WeightHashMismatch
from echo_sync.weights import PolicyStore


def perturb(model, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.01)


def test_published_versions_are_recorded_on_chain_and_loaded_by_the_sampler(trainer_side, node, registry):
    model, publisher = trainer_side
    v1 = publisher.publish(model)
    perturb(model, 1)
    v2 = publisher.publish(model)
    assert (v1.version, v2.version) == (1, 2) and v1.sha256 != v2.sha256
    record = registry.get(2)
    assert record is not None and record.sha256 == v2.sha256 and record.uri == v2.uri
    assert hashlib.sha256(publisher.store.path(2).read_bytes()).hexdigest() == record.sha256
    assert registry.get(3) is None

    with pytest.raises(UnknownPolicyVersion):
        node.generate([0])  # nothing verified loaded yet: refuses to produce untagged rollouts
    node.sync_to(1)
    node.catch_up()
    assert (node.version, node.sha256) == (2, v2.sha256)
    trained = dict(model.named_parameters())
    for name, p in node.backend.model.named_parameters():
        assert torch.equal(p, trained[name]), name
    groups = node.generate([0, 1])
    assert [(g.policy_version, g.weights_sha256, len(g.samples)) for g in groups] == [(2, v2.sha256, 2)] * 2
    assert len(node.stats.syncs) == 2 and node.stats.syncs[-1]["bytes"] == v2.bytes
    with pytest.raises(UnknownPolicyVersion):
        node.sync_to(7)


def test_weights_whose_hash_differs_from_the_chain_are_refused(trainer_side, node, registry):
    model, publisher = trainer_side
    v1 = publisher.publish(model)
    node.sync_to(1)
    before = {n: p.clone() for n, p in node.backend.model.named_parameters()}
    # The server's file for v2 is swapped after the hash went on chain (a tampering or corrupt server).
    perturb(model, 2)
    v2 = publisher.publish(model)
    perturb(model, 3)
    publisher.store.write(model, 2)
    with pytest.raises(WeightHashMismatch, match="refused"):
        node.sync_to(2)
    assert (node.version, node.sha256) == (1, v1.sha256)
    for n, p in node.backend.model.named_parameters():
        assert torch.equal(p, before[n]), n  # nothing of the bad file was loaded
    assert not list((node.cache_dir).glob("*.part")) and node.stats.refused == [{"version": 2, "reason": "sha256 mismatch"}]
    assert registry.get(2).sha256 == v2.sha256


def test_versions_must_be_latest_plus_one_on_chain(registry):
    import chain.reverts as reverts

    registry.publish(1, "11" * 32, "http://x/1")
    with pytest.raises(reverts.revert_class("VersionNotNext")) as err:
        registry.publish(1, "22" * 32, "http://x/1b")
    assert err.value.args_dict == {"expected": 2, "given": 1}
    with pytest.raises(reverts.revert_class("VersionNotNext")):
        registry.publish(2**64 - 1, "22" * 32, "http://x/brick")  # the v1 brick
    registry.publish(2, "22" * 32, "http://x/2")
    assert registry.latest_version() == 2 and registry.get(1).sha256 == "11" * 32


def test_backends_without_in_memory_reload_get_verified_weights_through_a_file(trainer_side, node):
    """The LLMBackend interface only promises load_weights(path, version): the node must work with that."""
    from agents.llm.base import LLMBackend

    inner = node.backend

    class PathOnly(LLMBackend):
        model_id = "path-only"

        def __init__(self):
            self.loaded: list = []

        def generate(self, conversations, params):
            return inner.generate(conversations, params)

        def load_weights(self, path, version=None):
            self.loaded.append((path.name, version))
            inner.load_weights(path, version)

    node.backend = PathOnly()
    model, publisher = trainer_side
    v1 = publisher.publish(model)
    node.sync_to(1)
    assert node.backend.loaded == [("v000001.safetensors", 1)] and node.sha256 == v1.sha256
    assert [p.name for p in node.cache_dir.iterdir()] == ["v000001.safetensors"]
    assert node.generate([0])[0].policy_version == 1


def test_policy_store_keeps_only_the_newest_versions(tmp_path):
    """A long run must not fill the disk: with keep=2 only the two newest checkpoints remain, each still holding
    its own version's weights under the sha256 returned when it was written."""
    from safetensors.torch import load_file

    from echo_sync.weights import PolicyStore

    store = PolicyStore(tmp_path / "policies", keep=2)
    model = torch.nn.Linear(4, 2)
    shas = {}
    for version in range(1, 6):
        with torch.no_grad():
            model.weight.fill_(float(version))
        path, shas[version] = store.write(model, version)
    assert sorted(p.parent.name for p in (tmp_path / "policies").glob("v*/model.safetensors")) == ["v000004", "v000005"]
    assert not store.path(3).parent.exists()
    for version in (4, 5):
        assert hashlib.sha256(store.path(version).read_bytes()).hexdigest() == shas[version]
        assert torch.equal(load_file(str(store.path(version)))["weight"], torch.full((2, 4), float(version)))
    assert shas[4] != shas[5]
    with pytest.raises(ValueError):
        PolicyStore(tmp_path / "other", keep=0)
