"""The optional views: a Hide-and-Shill EvaluationLog entry and Echo policy versions, where the manifest names
those contracts, equal the contracts' own views (EvaluationLogClient.get, PolicyRegistryClient.get)."""

from __future__ import annotations

from chain.compile import compile_contracts
from echo_sync.registry import PolicyRegistryClient
from marl_detector.onchain.evaluation import EvaluationLogClient
from tests.chain.test_audit_with_cast import drive_evaluation

from .conftest import caught_up, explorer_of, get, served


async def test_evaluation_log_and_policy_versions_equal_the_contract_views(chain, tmp_path) -> None:
    manifest, detector, eval_id = drive_evaluation(chain)
    registry = PolicyRegistryClient.deploy(chain.client(4))
    registry.publish(1, "11" * 32, "http://weights/v1")
    registry.publish(2, "22" * 32, "http://weights/v2")
    # Samplers announce what they serve; the page shows each one's last announcement only.
    a, b, c = (PolicyRegistryClient(chain.client(i), registry.address, registry.contract.abi) for i in (5, 6, 7))
    a.announce_serving(1, "11" * 32)
    b.announce_serving(2, "22" * 32)
    c.announce_serving(2, "22" * 32)
    registry.revoke(1, "bad checkpoint")
    a.announce_serving(0, "")  # it held the revoked version: it serves nothing now
    b.announce_serving(0, "")  # stopped
    c.announce_serving(2, "22" * 32)  # said again: still one entry
    block = chain.client(0).w3.eth.block_number
    manifest.add("Echo.PolicyRegistry", registry.address, compile_contracts()["PolicyRegistry"], block)
    service = explorer_of(chain.node.rpc_url, manifest, manifest.save(tmp_path / "deployment.json"))
    async with served(service) as (url, session):
        await caught_up(service)
        status, state = await get(session, f"{url}/api/state")
    assert status == 200
    entries = {e["id"]: e for e in state["evaluations"]}
    view = EvaluationLogClient(chain.client(0), detector.log).get(eval_id)
    mine = entries[eval_id]
    assert (mine["detector"], mine["window"], mine["commitment"]) == (view.detector, view.window_id, view.commitment)
    assert mine["status"] == view.status.name.lower() == "resolved"
    assert (mine["label"], mine["confidence_bp"], mine["score"]) == (view.predicted, view.confidence, view.score)
    assert mine["outcome"] == view.outcome.name.lower() and mine["model_hash"] == view.model_hash
    assert mine["cast"].startswith("cast call ") and "getEvaluation(uint256)" in mine["cast"]
    policies = {p["version"]: p for p in state["policies"]}
    assert set(policies) == {1, 2}
    for version, policy in policies.items():
        record = registry.get(version)
        assert policy["sha256"] == "0x" + record.sha256 and policy["uri"] == record.uri
        assert policy["publisher"] == record.publisher and policy["revoked"] == record.revoked
    assert policies[1]["reason"] == "bad checkpoint" and "getPolicy(uint64)" in policies[1]["cast"]
    last: dict[str, int] = {}
    for e in registry.contract.events.PolicyServed.get_logs(from_block=0):
        last[e.args.sampler] = int(e.args.version)
    for version, policy in policies.items():
        assert sorted(s["sampler"] for s in policy["served_by"]) == sorted(k for k, v in last.items() if v == version)
    assert [s["sampler"] for s in policies[2]["served_by"]] == [c.client.address] and policies[1]["served_by"] == []
    assert "PolicyServed(address indexed,uint64 indexed,bytes32)" in policies[2]["cast_served"]


async def test_windows_detector_counters_and_pool_prices_equal_the_contract_views(chain, tmp_path) -> None:
    """A window's inputs (base, the five boundary cumulatives) equal getWindow, the detector's running TP/FP/TN/FN
    and score equal statsOf, and the window's price series ends at the pool's spotPrice; bad window ids are errors."""
    manifest, detector, eval_id = drive_evaluation(chain)
    service = explorer_of(chain.node.rpc_url, manifest, manifest.save(tmp_path / "deployment.json"))
    async with served(service) as (url, session):
        await caught_up(service)
        _, state = await get(session, f"{url}/api/state")
        entry = next(e for e in state["evaluations"] if e["id"] == eval_id)
        status, window = await get(session, f"{url}/api/window/{entry['window']}")
        missing = await get(session, f"{url}/api/window/999")
        bad = await get(session, f"{url}/api/window/x1")
    assert status == 200, window
    log = detector.log
    view_entry = detector.get(eval_id)
    on_chain = log.functions.getWindow(entry["window"]).call()
    (pool, t0, horizon, opener, *_rest) = on_chain
    assert (window["pool"], window["t0"], window["horizon"], window["opener"]) == (pool, t0, horizon, opener)
    assert int(window["base"]) == on_chain[-3] and [int(c["cumulative"]) for c in window["checkpoints"]] == list(on_chain[-1])
    assert [c["k"] for c in window["checkpoints"]] == [0, 1, 2, 3, 4] and window["settled"]["outcome"] == entry["outcome"]
    assert window["entries"][0]["committed_time"] == view_entry.committed_at < window["t0"] and window["entries"][0]["before_t0"]
    assert [e["id"] for e in window["entries"]] == [eval_id] and window["cast"]["checkpoints"].startswith("cast logs ")
    stats = detector.stats(detector.client.address)
    mine = next(d for d in state["detectors"] if d["detector"].lower() == detector.client.address.lower())
    for key in ("true_positives", "false_positives", "true_negatives", "false_negatives", "expired", "voided", "tainted",
                "total_score"):
        assert mine[key] == stats[key], key
    assert mine["curve"][-1]["total"] == stats["total_score"] and "statsOf(address)" in mine["cast"]
    spot = chain.client(0).w3.eth.contract(pool, abi=compile_contracts()["ConstantProductPool"].abi).functions.spotPrice().call()
    assert window["prices"] and int(window["prices"][-1]["price_wad"]) == spot
    assert window["cast"]["prices"].startswith("cast logs ") and "Sync(uint256,uint256)" in window["cast"]["prices"]
    assert missing[0] == 404 and "no evaluation window 999" in missing[1]["error"]
    assert bad[0] == 400
