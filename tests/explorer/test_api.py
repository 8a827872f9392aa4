"""The explorer's JSON is what the contracts' own views say: one task through bids, assignment, deliveries,
commitments and reveals (tests/chain/test_audit_with_cast.py's scripted flow), then every score, executor,
delivery, chain weight, vote weight and the winner compared with TaskBeacon / VoteCommitment / CapabilityLedger
views; unknown ids and addresses are 404 JSON errors; each item's `cast` command reads the same value."""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess

from chain.bindings.beacon import chain_of
from chain.task_view import task_record
from core.paths import tool_path
from tests.chain.test_audit_with_cast import drive_task

from .conftest import caught_up, explorer_of, get, served


async def test_explorer_json_equals_the_contract_views(chain, tmp_path) -> None:
    path = chain.manifest.save(tmp_path / "deployment.json")  # with abi/ beside it, as `symphony chain up` writes
    service = explorer_of(chain.node.rpc_url, chain.manifest, path)
    async with served(service) as (url, session):
        driven = await asyncio.to_thread(drive_task, chain)
        await caught_up(service)
        task_id = driven["task"].task_id
        status, task = await get(session, f"{url}/api/task/{int.from_bytes(task_id, 'big')}")
        assert status == 200, task
        status, state = await get(session, f"{url}/api/state")
        assert status == 200
        missing_task = await get(session, f"{url}/api/task/999")
        missing_agent = await get(session, f"{url}/api/agent/0x{'00' * 19}01")
        bad_agent = await get(session, f"{url}/api/agent/nobody")
        reveal_tx = driven["votes"][0]["reveal_tx"]
        by_tx = await get(session, f"{url}/api/search?q={reveal_tx}")
        by_requester = await get(session, f"{url}/api/search?q={chain.client(0).address}")
        by_number = await get(session, f"{url}/api/search?q=1")
        agents = {}
        for address in {v["agent"] for v in driven["votes"]}:
            agents[address] = await get(session, f"{url}/api/agent/{address}")

    contracts = chain.contracts(0)
    beacon, vote, ledger = contracts.beacon, contracts.vote, contracts.ledger
    record = task_record(contracts, task_id)
    assert task["requester"] == record["requester"] and task["settled"] == record["settled"] is True
    assert len(task["chains"]) == len(record["chains"]) == 2
    for mine, theirs in zip(task["chains"], record["chains"]):
        assert mine["chain_id"] == theirs["chain_id"]
        assert mine["weight_wad"] == beacon.chain_weight(theirs["chain_id"])
        assert [s["beacon"] for s in mine["steps"]] == [s["beacon"] for s in theirs["steps"]]
        for step in mine["steps"]:
            b = step["beacon"]
            assert sorted((x["agent"], x["score_wad"], x["newcomer"]) for x in step["bids"]) == \
                   sorted((x.agent, x.score, x.newcomer) for x in beacon.bids(b))
            assert [x["agent"] for x in step["executors"]] == beacon.executors(b)
            assert [x["delivered"] for x in step["executors"]] == [beacon.has_delivered(b, a) for a in beacon.executors(b)]
            assert step["status"] == beacon.get(b).status.name.lower()
            assert step["final"] == beacon.get(b).is_final
            assert step["cast"]["bids"].startswith("cast call ")
    on_chain = vote.get(task_id)
    v = task["vote"]
    assert v["phase"] == on_chain.phase.name.lower() == "finalized"
    assert (len(v["commits"]), len(v["reveals"])) == (on_chain.commits, on_chain.reveals) == (3, 3)
    assert v["winning_answer"] == on_chain.winning_answer == "4"
    assert (v["winning_weight"], v["total_weight"]) == (on_chain.winning_weight, on_chain.total_weight)
    assert sorted(r["voter"] for r in v["reveals"]) == sorted(x["agent"] for x in driven["votes"])
    assert v["answers"][0]["answer"] == "4" and v["answers"][0]["weight_wad"] == on_chain.winning_weight  # weights per answer
    assert sum(a["weight_wad"] for a in v["answers"]) == on_chain.total_weight
    for r in v["reveals"]:  # a vote weighs what its chain weighs (the lowest bid score among its delivering executors, v2.1)
        assert r["weight_wad"] == beacon.chain_weight(chain_of(r["beacon"]))
    assert {x.beacon_id for x in vote.voters(task_id)} == {c["beacon"] for c in v["commits"]}

    for address, (code, agent) in agents.items():
        info = ledger.get_agent(address)
        assert code == 200
        assert (agent["stake"], agent["reputation"], agent["available"], agent["capacity"], agent["free_capacity"]) == \
               (info.stake, info.reputation, info.available, info.capacity, info.free_capacity)
        assert agent["name"] == info.name and tuple(agent["tags"]) == info.tags
        assert agent["beacons_won"] and all(address in beacon.executors(b) for b in agent["beacons_won"])

    assert state["tasks"][0]["task"] == 1 and state["tasks"][0]["winning_answer"] == "4"
    assert len(state["agents"]) == 3 and state["status"]["connected"] is True
    assert state["evaluations"] is None and state["policies"] is None  # not in this manifest: no such view
    assert missing_task[0] == 404 and "no task 999" in missing_task[1]["error"]
    assert missing_agent[0] == 404 and "no agent" in missing_agent[1]["error"]
    assert bad_agent[0] == 400 and "not an address" in bad_agent[1]["error"]
    assert by_tx[0] == 200 and by_tx[1]["kind"] == "transaction"
    assert any(e["event"] == "VoteRevealed" for e in by_tx[1]["events"])
    assert by_requester[1]["kind"] == "requester" and by_requester[1]["tasks"][0]["task"] == 1
    assert by_number[1]["kind"] == "task"

    # the page's cast commands read the same values (docs/audit-with-cast.md explains their output)
    cast = tool_path("cast")
    if cast.exists():
        def run_cast(command: str) -> str:
            done = subprocess.run([str(cast), *shlex.split(command)[1:]], capture_output=True, text=True, timeout=30,
                                  env={**os.environ, "LC_ALL": "C"})
            assert done.returncode == 0, done.stderr
            return done.stdout

        assert run_cast(task["cast"]).splitlines()[0].lower() == record["requester"].lower()
        step = task["chains"][0]["steps"][0]
        bids = run_cast(step["cast"]["bids"]).lower()
        assert all(b["agent"].lower() in bids and str(b["score_wad"]) in bids for b in step["bids"])
        reveals = run_cast(task["vote"]["cast"]["reveals"])
        assert all(r["tx"] in reveals for r in task["vote"]["reveals"])
