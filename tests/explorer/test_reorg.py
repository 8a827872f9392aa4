"""The explorer follows reorgs and outages: a bid that a reorg removed disappears from /api/state, and an RPC
endpoint that goes away makes the explorer say "disconnected" (over SSE too) and keep retrying until it answers."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from chain.bindings.beacon import ChainSpec
from chain.client import ChainClient
from chain.deploy import deploy_symphony
from chain.node import AnvilNode
from chain.settings import ChainSettings
from tests.chain.helpers import near, register, vector

from .conftest import caught_up, explorer_of, get, served


async def _bids(session: aiohttp.ClientSession, url: str) -> tuple[int, list[dict]]:
    _, state = await get(session, f"{url}/api/state")
    _, task = await get(session, f"{url}/api/task/{state['tasks'][0]['task']}")
    return state["tasks"][0]["bids"], task["chains"][0]["steps"][0]["bids"]


async def test_a_bid_removed_by_a_reorg_disappears_from_the_state(chain) -> None:
    requester, bidder = chain.contracts(0), chain.contracts(1)
    requirement = vector(11)
    register(bidder, "bidder", near(requirement, 10, 1))
    task = requester.beacon.post_task([ChainSpec((requirement,), b'{"q":"1+1"}')], bid_window=60, exec_window=300,
                                      reward=10**13)
    service = explorer_of(chain.node.rpc_url, chain.manifest)
    async with served(service) as (url, session):
        await caught_up(service)
        assert await _bids(session, url) == (0, [])
        before = chain.node.snapshot()
        receipt = await asyncio.to_thread(bidder.beacon.bid, task.beacon(0, 0), [requirement])
        bid_tx = receipt["transactionHash"].to_0x_hex()
        await caught_up(service)
        count, bids = await _bids(session, url)
        assert count == 1 and bids[0]["agent"] == bidder.client.address and bids[0]["tx"] == bid_tx
        assert (await get(session, f"{url}/api/search?q={bid_tx}"))[0] == 200

        chain.node.revert(before)  # the block with the bid is gone; the new canonical chain is longer
        chain.node.mine(3)
        await caught_up(service)
        assert await _bids(session, url) == (0, [])
        status, missing = await get(session, f"{url}/api/search?q={bid_tx}")
        assert status == 404 and "no transaction" in missing["error"]
        _, agent = await get(session, f"{url}/api/agent/{bidder.client.address}")
        assert agent["bids"] == 0  # derived views forget the removed event too


async def _next_status(response: aiohttp.ClientResponse, timeout: float = 20.0) -> dict:
    async def read() -> dict:
        event = None
        async for raw in response.content:
            line = raw.decode().strip()
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "status":
                return json.loads(line.removeprefix("data: "))
        raise AssertionError("event stream ended")
    return await asyncio.wait_for(read(), timeout)


async def test_an_rpc_that_goes_away_shows_disconnected_and_the_explorer_keeps_retrying() -> None:
    node = AnvilNode()
    node.start()
    try:
        deployer = ChainClient(node.rpc_url, node.dev_accounts[0].key.to_0x_hex())
        manifest = deploy_symphony(deployer, ChainSettings(min_stake_wei=10**16))
        agent = ChainClient(node.rpc_url, node.dev_accounts[1].key.to_0x_hex())
        from chain.bindings import SymphonyContracts

        register(SymphonyContracts.bind(agent, manifest), "solo", vector(3))
        service = explorer_of(node.rpc_url, manifest)
        async with served(service) as (url, session):
            await caught_up(service)
            assert len((await get(session, f"{url}/api/state"))[1]["agents"]) == 1
            async with session.get(f"{url}/api/events") as events:
                assert (await _next_status(events))["connected"] is True
                port = node.port
                node.stop()
                down = await _next_status(events)
                assert down["connected"] is False and down["error"]
                status, state = await get(session, f"{url}/api/state")  # the server itself keeps answering
                assert status == 200 and state["status"]["connected"] is False
                assert len(state["agents"]) == 1  # what it knew stays on the page

                node = AnvilNode(port=port)  # a node answers again on the same endpoint: a fresh chain
                node.start()
                assert (await _next_status(events))["connected"] is True
            await caught_up(service)
            _, state = await get(session, f"{url}/api/state")
            assert state["agents"] == []  # the new chain never saw the registration: the stream removed it
    finally:
        node.stop()


async def test_a_restarted_explorer_resumes_from_its_checkpoint_file(chain, tmp_path) -> None:
    register(chain.contracts(1), "first", vector(1))
    store = tmp_path / "explorer.sqlite"
    first = explorer_of(chain.node.rpc_url, chain.manifest, checkpoints=store)
    await asyncio.to_thread(first.follower.catch_up)
    before = first.snapshot()["agents"]
    first.follower.store.close()

    register(chain.contracts(2), "second", vector(2))
    second = explorer_of(chain.node.rpc_url, chain.manifest, checkpoints=store)
    assert second.follower.status.polls == 0 and second.snapshot()["agents"] == before  # restored, not re-read
    polled = await asyncio.to_thread(second.follower.catch_up)
    names = [a["name"] for a in second.snapshot()["agents"]]
    assert names == ["first", "second"]
    assert polled == len(second.state) - len(first.state)  # only the new events came from the chain
