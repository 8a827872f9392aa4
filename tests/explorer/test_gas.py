"""Gas spent per task: /api/task/<id> sums the gasUsed of every transaction that emitted one of the task's
events, in all and per sender, and the numbers equal the receipts the node returns for those transactions; the
requester's share is the part its own transactions (posting, finalizing) used. The page shows the same figures."""

from __future__ import annotations

import asyncio

from tests.chain.test_audit_with_cast import drive_task

from .conftest import caught_up, explorer_of, get, served


async def test_task_gas_is_the_sum_of_its_transactions_receipts(chain) -> None:
    service = explorer_of(chain.node.rpc_url, chain.manifest)
    async with served(service) as (url, session):
        driven = await asyncio.to_thread(drive_task, chain)
        await caught_up(service)
        number = int.from_bytes(driven["task"].task_id, "big")
        status, task = await get(session, f"{url}/api/task/{number}")
        fetched = len(service._receipts)
        again = await get(session, f"{url}/api/task/{number}")
    assert status == 200, task
    gas = task["gas"]
    w3 = chain.client(0).w3
    receipts = {tx: w3.eth.get_transaction_receipt(tx) for tx in task["transactions"]}
    assert all(v["reveal_tx"] in receipts for v in driven["votes"])  # every vote is one of the task's transactions
    assert gas["transactions"] == len(receipts) >= 1 + 3 * 2  # the posting, bids, commits, reveals at least
    assert gas["total"] == sum(r["gasUsed"] for r in receipts.values())
    assert gas["fee_wei"] == sum(r["gasUsed"] * r["effectiveGasPrice"] for r in receipts.values())
    requester = task["requester"].lower()
    assert gas["requester"]["gas"] == sum(r["gasUsed"] for r in receipts.values() if r["from"].lower() == requester) > 0
    assert sum(p["gas"] for p in gas["parties"]) == gas["total"]
    assert {p["address"].lower() for p in gas["parties"]} == {r["from"].lower() for r in receipts.values()}
    assert fetched == len(receipts) and len(service._receipts) == fetched  # once per transaction, then cached
    assert again[1]["gas"] == gas and gas["cast"].startswith("cast receipt ")
