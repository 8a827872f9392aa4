"""LoRA adapter policy versions: publish, verify against the chain, hot-swap in place; refusals keep the verified
adapter (tensor by tensor) and are counted; an agent profile serves a shipped adapter through LLMSettings.adapter."""

from __future__ import annotations

import json

import pytest
import torch

from core.errors import ConfigError, SymphonyError
from core.http import BackgroundServer
from agents.llm.adapter_file import base_model_hash, read_adapter
from echo_sync.adapters import adapter_bytes, apply_lora
from echo_sync.errors import AdapterMismatch, OversizePolicy, PolicyRollback
from echo_sync.publisher import PolicyPublisher
from echo_sync.sampler_node import SamplerNode
from echo_sync.settings import LoRASettings, SamplingSettings
from echo_sync.tasks import TaskSet
from echo_sync.trainer_app import TrainerEndpoint
from echo_sync.weights import PolicyStore

LORA = LoRASettings(rank=4, alpha=8.0)
IDS = torch.tensor([[3, 17, 42, 9, 88, 5]])


def perturb_lora(model, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name:
                p.add_(torch.randn(p.shape, generator=g) * 0.3)


def served_lora(backend) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in backend.model.named_parameters() if "lora_" in n}


@pytest.fixture
def trainer_side(tiny_model, registry, tmp_path):
    from echo_sync.trainer import load_causal_lm

    model, _ = load_causal_lm(tiny_model)
    model = apply_lora(model, LORA)
    store = PolicyStore(tmp_path / "policies", base_sha256=base_model_hash(tiny_model))
    publisher = PolicyPublisher(store, registry, "http://unset")
    server = BackgroundServer(TrainerEndpoint(publisher).app()).start()
    publisher.base_url = server.url
    yield model, publisher
    server.stop()


def make_node(tiny_model, registry, anvil, tmp_path, *, base: str | None = None, max_bytes: int = 1 << 24):
    from agents.llm.transformers_backend import TransformersBackend
    from chain.client import ChainClient
    from echo_sync.registry import PolicyRegistryClient

    torch.set_num_threads(1)
    reader = PolicyRegistryClient(ChainClient(anvil.rpc_url), registry.address, registry.contract.abi)
    backend = TransformersBackend(tiny_model, device="cpu", dtype="float32")
    return SamplerNode("s0", backend, reader, TaskSet(("chain_sum",)), SamplingSettings(max_new_tokens=4), 2,
                       tmp_path / "cache", base_sha256=base or base_model_hash(tiny_model), max_bytes=max_bytes)


def test_adapter_versions_are_small_bound_to_the_base_model_and_hot_swapped(trainer_side, tiny_model, registry, anvil, tmp_path):
    model, publisher = trainer_side
    node = make_node(tiny_model, registry, anvil, tmp_path)
    v1 = publisher.publish(model)
    perturb_lora(model, 1)
    v2 = publisher.publish(model)
    record = registry.get(2)
    assert record.sha256 == v2.sha256 and record.uri.endswith(f"/policies/2/adapter.safetensors#base={base_model_hash(tiny_model)}")
    full = sum(p.numel() * 4 for p in model.get_base_model().parameters())
    assert v2.bytes < full / 10  # the adapter, not the weights
    parsed = read_adapter(publisher.store.path(2).read_bytes())
    assert parsed.base_sha256 == base_model_hash(tiny_model) and parsed.config["r"] == 4

    node.sync_to(1)
    first_model = node.backend.model
    node.sync_to(2)
    assert node.backend.model is first_model  # in place: the LoRA layers were injected once, then only copied into
    with torch.no_grad():
        assert torch.allclose(node.backend.model(input_ids=IDS).logits, model(input_ids=IDS).logits, atol=1e-5)
    assert (node.version, node.sha256, node.backend.policy_version) == (2, v2.sha256, 2)
    assert node.stats.syncs[-1]["bytes"] == v2.bytes
    groups = node.generate([0])
    assert groups[0].policy_version == 2 and groups[0].samples[0].turns[0].logprobs  # rollouts carry log-probs

    held = served_lora(node.backend)
    with pytest.raises(PolicyRollback):
        node.sync_to(1)
    assert all(torch.equal(p, held[n]) for n, p in served_lora(node.backend).items())
    assert v1.sha256 != v2.sha256


def test_an_adapter_for_another_base_model_is_refused_before_download(trainer_side, tiny_model, registry, anvil, tmp_path):
    model, publisher = trainer_side
    node = make_node(tiny_model, registry, anvil, tmp_path, base="ab" * 32)
    publisher.publish(model)
    with pytest.raises(AdapterMismatch, match="adapter for base model"):  # read from the on-chain URI, not the file
        node.sync_to(1)
    assert node.version is None and node.stats.syncs == []  # nothing downloaded, nothing loaded
    assert node.stats.refused[-1]["version"] == 1 and "base model" in node.stats.refused[-1]["reason"]
    assert not hasattr(node.backend.model, "peft_config")


def test_a_corrupt_adapter_with_a_matching_hash_is_refused_and_the_verified_one_kept(trainer_side, tiny_model, registry, anvil, tmp_path):
    """The chain's hash only says the bytes are the publisher's: a publisher that ships garbage (or an adapter
    of another shape) still cannot make a sampler half-load it."""
    model, publisher = trainer_side
    node = make_node(tiny_model, registry, anvil, tmp_path)
    publisher.publish(model)
    node.sync_to(1)
    held = served_lora(node.backend)
    uri = publisher.uri(2)
    for version, data in ((2, b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage"),):
        import hashlib

        path = publisher.store.path(version)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        publisher.registry.publish(version, sha, uri)
        from echo_sync.publisher import Published

        publisher._published[version] = Published(version, sha, uri, len(data), 0.0, 0.0)
        publisher.current_version = version
    with pytest.raises(AdapterMismatch, match="corrupt"):
        node.sync_to(2)
    # an adapter of another rank, well-formed and correctly hashed: refused by the backend's checks
    other = apply_lora(__import__("echo_sync.trainer", fromlist=["x"]).load_causal_lm(tiny_model)[0], LoRASettings(rank=2))
    publisher.current_version = 2
    v3 = publisher.publish(other)
    with pytest.raises(AdapterMismatch, match="rank 2"):
        node.sync_to(3)
    assert node.version == 1 and all(torch.equal(p, held[n]) for n, p in served_lora(node.backend).items())
    assert [r["version"] for r in node.stats.refused] == [2, 3] and v3.version == 3
    assert not list(node.cache_dir.glob("v000002*")) and not list(node.cache_dir.glob("v000003*"))


def test_an_oversize_download_is_cut_off_before_hashing(trainer_side, tiny_model, registry, anvil, tmp_path):
    model, publisher = trainer_side
    v1 = publisher.publish(model)
    node = make_node(tiny_model, registry, anvil, tmp_path, max_bytes=v1.bytes - 1)
    with pytest.raises(OversizePolicy, match="exceeds the cap"):
        node.sync_to(1)
    assert node.version is None and node.stats.syncs == [] and "cap" in node.stats.refused[-1]["reason"]


def test_load_adapter_checks_everything_before_touching_the_served_adapter(tiny_model, tmp_path):
    from agents.llm.transformers_backend import TransformersBackend
    from agents.llm.adapter_file import write_peft_folder
    from echo_sync.trainer import load_causal_lm

    backend = TransformersBackend(tiny_model, device="cpu", dtype="float32")
    model = apply_lora(load_causal_lm(tiny_model)[0], LORA)
    perturb_lora(model, 5)
    good = write_peft_folder(read_adapter(adapter_bytes(model, "x")), tmp_path / "good")
    backend.load_adapter(good, 1)
    held = served_lora(backend)
    adapter = read_adapter(adapter_bytes(model, "x"))
    key = next(k for k in adapter.tensors if "lora_B" in k)
    broken = dict(adapter.tensors)
    broken[key] = broken[key][:, :2].contiguous()  # the wrong shape for one tensor (the others are fine)
    bad = write_peft_folder(type(adapter)(broken, adapter.config, "x"), tmp_path / "bad")
    with pytest.raises(SymphonyError, match="shape"):
        backend.load_adapter(bad, 2)
    missing = write_peft_folder(type(adapter)({k: v for k, v in adapter.tensors.items() if k != key}, adapter.config, "x"),
                                tmp_path / "missing")
    with pytest.raises(SymphonyError, match="missing"):
        backend.load_adapter(missing, 3)
    assert backend.policy_version == 1 and all(torch.equal(p, held[n]) for n, p in served_lora(backend).items())


def test_an_agent_profile_serves_a_shipped_adapter_file(tiny_model, tmp_path):
    from agents.llm.factory import load_backend
    from agents.settings import LLMSettings
    from echo_sync.trainer import load_causal_lm

    model = apply_lora(load_causal_lm(tiny_model)[0], LORA)
    perturb_lora(model, 9)
    path = tmp_path / "adapter.safetensors"
    path.write_bytes(adapter_bytes(model, base_model_hash(tiny_model)))
    backend = load_backend(LLMSettings(model=str(tiny_model), adapter=path, device="cpu", dtype="float32"))
    with torch.no_grad():
        assert torch.allclose(backend.model(input_ids=IDS).logits, model(input_ids=IDS).logits, atol=1e-5)
    foreign = tmp_path / "foreign.safetensors"
    foreign.write_bytes(adapter_bytes(model, "cd" * 32))
    with pytest.raises(ConfigError, match="trained for base model"):
        load_backend(LLMSettings(model=str(tiny_model), adapter=foreign, device="cpu"))
    with pytest.raises(ConfigError, match="not found"):
        load_backend(LLMSettings(model=str(tiny_model), adapter=tmp_path / "nope.safetensors", device="cpu"))
    assert json.loads(json.dumps({"adapter": str(path)}))  # the setting is a plain path in config files
