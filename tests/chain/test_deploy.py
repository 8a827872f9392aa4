"""Deployment manifest: contents, round trip, ABI checks, the ledger authorisation and the vote binding."""

from __future__ import annotations

import hashlib
import json

import pytest

from chain.deploy import CORE_CONTRACTS, Manifest
from core.errors import ConfigError


def test_manifest_describes_the_deployment(chain, artifacts):
    manifest = chain.manifest
    client = chain.client(0)
    assert manifest.chain_id == client.chain_id == 31337 or chain.node.fork_url
    assert set(CORE_CONTRACTS) <= set(manifest.contracts)
    for name in CORE_CONTRACTS:
        entry = manifest.contracts[name]
        assert len(client.w3.eth.get_code(entry.address)) > 0
        assert entry.abi_sha256 == artifacts[name].abi_sha256
    contracts = chain.contracts(0)
    assert contracts.ledger.contract.functions.authorized(contracts.beacon.address).call()
    # VoteCommitment never touches the ledger: it reports outcomes to the beacon, which settles them.
    assert not contracts.ledger.contract.functions.authorized(contracts.vote.address).call()
    assert contracts.beacon.contract.functions.vote().call() == contracts.vote.address


def test_manifest_round_trip_and_abi_files(chain, artifacts, tmp_path):
    path = chain.manifest.save(tmp_path / "deployment.json", artifacts)
    loaded = Manifest.load(path)
    assert loaded == chain.manifest
    abi = json.loads((tmp_path / "abi" / "TaskBeacon.json").read_text())
    assert abi == artifacts["TaskBeacon"].abi


def test_every_contract_the_manifest_names_has_an_abi_file_whose_sha256_it_records(chain, artifacts, tmp_path):
    manifest = chain.manifest.model_copy(deep=True)
    manifest.add("HideShill.EvaluationLog", "0x" + "11" * 20, artifacts["EvaluationLog"], 1)
    manifest.add("Echo.PolicyRegistry", "0x" + "22" * 20, artifacts["PolicyRegistry"], 1)
    manifest.save(tmp_path / "deployment.json")  # no artifacts passed: it compiles (cached) what it needs
    for name, entry in manifest.contracts.items():
        data = (tmp_path / "abi" / f"{name}.json").read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry.abi_sha256, name


def test_manifest_refuses_a_different_abi(chain, artifacts):
    tampered = chain.manifest.model_copy(deep=True)
    tampered.contracts["TaskBeacon"].abi_sha256 = "0" * 64
    with pytest.raises(ConfigError, match="different ABI"):
        tampered.bind(chain.client(0), "TaskBeacon", artifacts)


def test_missing_or_broken_manifest(tmp_path):
    with pytest.raises(ConfigError, match="no deployment manifest"):
        Manifest.load(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{\"chain_id\": \"x\"}")
    with pytest.raises(ConfigError, match="not valid"):
        Manifest.load(tmp_path / "bad.json")
