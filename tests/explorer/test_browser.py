"""The explorer's page in headless Chromium while a task runs: the task appears, then its bids, the vote's commits
and reveals with their weights, and the winner, as the chain records them; an unknown search says so on the page.
A screenshot is saved in the test's folder (and as docs/explorer.png with SYMPHONY_WRITE_SCREENSHOT=1).

Needs /usr/bin/chromium (Debian: `apt-get install -y chromium`); skipped with that reason otherwise.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
from pathlib import Path

import pytest

from tests.chain.test_audit_with_cast import drive_task
from tests.scheduler.cdp import chromium_page

from .conftest import caught_up, explorer_of, get, served

CHROMIUM = "/usr/bin/chromium"
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "explorer.png"

pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None,
                                reason="headless browser test needs /usr/bin/chromium (apt-get install -y chromium)")


async def test_the_page_shows_a_running_task_its_bids_vote_and_winner(chain, tmp_path: Path) -> None:
    service = explorer_of(chain.node.rpc_url, chain.manifest)
    async with served(service) as (url, session):
        async with chromium_page(CHROMIUM, f"{url}/", tmp_path / "chrome") as page:
            await page.send("Emulation.setDeviceMetricsOverride", width=1500, height=1500, deviceScaleFactor=1, mobile=False)
            await page.wait_for("document.getElementById('conn').textContent === 'live'")
            assert await page.evaluate("document.getElementById('tasks').textContent") == "no task yet"
            running = asyncio.create_task(asyncio.to_thread(drive_task, chain))
            await page.wait_for("document.querySelector('#task-row-1') !== null")  # the task shows while it runs
            await page.wait_for("document.querySelectorAll('#task tr.bid').length === 9", timeout=60)
            await page.wait_for("(document.getElementById('winner') || {}).textContent?.includes('winner: 4')", timeout=60)
            driven = await running
            await caught_up(service)
            await page.wait_for("document.querySelectorAll('#gas tr.gas-party').length > 0")
            _, task = await get(session, f"{url}/api/task/1")
            gas_shown = await page.evaluate("[document.getElementById('gas-total').textContent, "
                                            "document.getElementById('gas-requester').textContent]")
            # click an agent: its panel opens (#agent/ADDR) with its evidence, beacons won and reputation plot
            await page.evaluate("document.querySelector('#agents tr.clickable').click()")
            await page.wait_for("document.querySelector('#reputation-plot polyline') !== null")
            panel = await page.evaluate("document.getElementById('agent-panel').innerText")
            hash_after_click = await page.evaluate("location.hash")
            won_links = await page.evaluate("document.querySelectorAll('#agent-won a').length")
            dots = await page.evaluate("['commits', 'reveals', 'bids'].map(k => document.querySelectorAll('#timeline circle.tl-' + k).length)")
            text = await page.evaluate("document.body.innerText")
            reveals = await page.evaluate("document.querySelectorAll('#task tr.reveal').length")
            commits = await page.evaluate("document.querySelectorAll('#task tr.commit').length")
            casts = await page.evaluate("document.querySelectorAll('code.cast').length")
            graph = await page.evaluate("['g-step', 'g-bids', 'g-exec', 'g-result'].map(k => document.querySelectorAll('#task svg.graph rect.' + k).length)")
            graph_text = await page.evaluate("document.getElementById('graph-0').textContent")
            answers = await page.evaluate("[...document.querySelectorAll('#task tr.answer')].map(r => r.innerText)")
            shot = await page.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            # every item links to its transaction: a reveal's link shows that transaction's events
            await page.evaluate("document.querySelector('#task tr.reveal a.tx').click()")
            await page.wait_for("(document.getElementById('tx-found') || {}).textContent?.includes('VoteRevealed')")
            tx_hash = await page.evaluate("location.hash")
            await page.evaluate("document.getElementById('q').value = '0x" + "ab" * 20 + "'; "
                                "document.querySelector('#search button').click()")
            await page.wait_for("document.querySelector('#search-result .error') !== null")
            unknown = await page.evaluate("document.getElementById('search-result').innerText")
            # a search for a task number opens it through its deep link
            await page.evaluate("document.getElementById('q').value = '1'; document.querySelector('#search button').click()")
            await page.wait_for("location.hash === '#task/1'")
        # a link opened from outside: #task/1 and #agent/ADDR show the item on first load
        agent0 = driven["votes"][0]["agent"]
        async with chromium_page(CHROMIUM, f"{url}/#agent/{agent0}", tmp_path / "chrome2") as page:
            await page.wait_for("document.querySelector('#agent-detail') !== null")
            linked_agent = await page.evaluate("document.getElementById('agent-detail').innerText")
        async with chromium_page(CHROMIUM, f"{url}/#task/{task['task_id']}", tmp_path / "chrome3") as page:
            await page.wait_for("document.querySelector('#task-1') !== null && document.querySelector('tr.selected') !== null")
            linked_task = await page.evaluate("document.querySelector('tr.selected').dataset.task")
    assert gas_shown == [str(task["gas"]["total"]), str(task["gas"]["requester"]["gas"])]
    assert "evidence record" in panel and "beacons won" in panel and won_links >= 1
    assert hash_after_click.startswith("#agent/0x")
    assert tx_hash.startswith("#tx/0x") and answers and answers[0].startswith("4\t")
    assert dots == [3, 3, 9]
    assert graph == [3, 3, 3, 3] and "3 bid(s)" in graph_text and "delivered" in graph_text  # a graph node per step  # the commit/reveal timeline has a dot per commitment, reveal and bid
    assert agent0 in linked_agent and linked_task == "1"
    png = base64.b64decode(shot["data"])
    (tmp_path / "explorer.png").write_bytes(png)
    if os.environ.get("SYMPHONY_WRITE_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.write_bytes(png)
    assert png.startswith(b"\x89PNG")
    assert (commits, reveals) == (3, 3) == (len(driven["votes"]), len(driven["votes"]))
    assert "vote: finalized" in text and "settled" in text
    for agent in ("agent0", "agent1", "agent2"):
        assert agent in text
    assert casts > 10 and "cast call" in text
    assert "nothing on this chain has to do with" in unknown


async def test_the_page_says_disconnected_while_the_rpc_is_gone(tmp_path: Path) -> None:
    from chain.client import ChainClient
    from chain.deploy import deploy_symphony
    from chain.node import AnvilNode
    from chain.settings import ChainSettings

    node = AnvilNode()
    node.start()
    try:
        manifest = deploy_symphony(ChainClient(node.rpc_url, node.dev_accounts[0].key.to_0x_hex()), ChainSettings())
        service = explorer_of(node.rpc_url, manifest)
        async with served(service) as (url, _session):
            async with chromium_page(CHROMIUM, f"{url}/", tmp_path / "chrome") as page:
                await page.wait_for("document.getElementById('conn').textContent === 'live'")
                port = node.port
                node.stop()
                await page.wait_for("document.getElementById('conn').textContent.startsWith('disconnected')")
                shown = await page.evaluate("document.getElementById('conn').textContent")
                node = AnvilNode(port=port)
                node.start()
                await page.wait_for("document.getElementById('conn').textContent === 'live'")
    finally:
        node.stop()
    assert "retrying" in shown


async def test_verify_re_derives_the_window_outcome_and_scores_in_the_page(chain, tmp_path: Path) -> None:
    """#window/ID (the "verify" button): the page re-derives the outcome and the entry's score from the logged
    inputs with the OutcomeLib rule and shows them equal to the recorded ones; the pool's price chart shows the
    window; the detector row has its TP/FP/TN/FN and a running score curve; the policy view names the sampler
    that announced serving the version."""
    from chain.compile import compile_contracts
    from echo_sync.registry import PolicyRegistryClient
    from tests.chain.test_audit_with_cast import drive_evaluation

    manifest, detector, eval_id = drive_evaluation(chain)
    registry = PolicyRegistryClient.deploy(chain.client(4))
    registry.publish(1, "11" * 32, "http://weights/v1")
    sampler = chain.client(5)
    PolicyRegistryClient(sampler, registry.address, registry.contract.abi).announce_serving(1, "11" * 32)
    manifest.add("Echo.PolicyRegistry", registry.address, compile_contracts()["PolicyRegistry"], chain.client(0).w3.eth.block_number)
    view = detector.get(eval_id)
    stats = detector.stats(detector.client.address)
    service = explorer_of(chain.node.rpc_url, manifest, manifest.save(tmp_path / "deployment.json"))
    async with served(service) as (url, session):
        await caught_up(service)
        async with chromium_page(CHROMIUM, f"{url}/", tmp_path / "chrome") as page:
            await page.send("Emulation.setDeviceMetricsOverride", width=1500, height=1500, deviceScaleFactor=1, mobile=False)
            await page.wait_for("document.querySelector('button.verify') !== null")
            await page.evaluate("document.querySelector('button.verify').click()")
            await page.wait_for("document.querySelector('#verify-outcome') !== null", timeout=30)
            outcome = await page.evaluate("document.getElementById('verify-outcome').textContent")
            verified = await page.evaluate("[...document.querySelectorAll('#window-panel tr.verified')].map(r => r.innerText)")
            differs = await page.evaluate("document.getElementById('window-panel').innerText.includes('differs')")
            chart = await page.evaluate("[document.querySelectorAll('#price-plot polyline').length, "
                                        "document.querySelectorAll('#price-plot rect.band').length, "
                                        "document.querySelectorAll('#price-plot line.segment').length]")
            before_t0 = await page.evaluate("[...document.querySelectorAll('#window-panel td.commit-before')].map(c => c.innerText)")
            detector_row = await page.evaluate("document.querySelector('#detectors tr.detector').innerText")
            curve = await page.evaluate("document.querySelectorAll('#detectors svg.plot polyline').length")
            served_by = await page.evaluate("document.querySelector('#policies tr.policy td.served-by').innerHTML")
            shot = await page.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    png = base64.b64decode(shot["data"])
    (tmp_path / "explorer-evaluation.png").write_bytes(png)
    if os.environ.get("SYMPHONY_WRITE_SCREENSHOT") == "1":
        (DOCS_SCREENSHOT.parent / "explorer-evaluation.png").write_bytes(png)
    assert outcome == view.outcome.name.lower() and not differs and before_t0 == ["yes"]
    assert len(verified) == 1 and str(view.score) in verified[0] and "= recorded" in verified[0]
    assert chart == [1, 2, 4]  # the price line; the base and prediction windows; the four sub-window TWAPs
    cells = detector_row.split("\t")
    assert [int(c) for c in cells[1:5]] == [stats["true_positives"], stats["false_positives"], stats["true_negatives"],
                                            stats["false_negatives"]]
    assert int(cells[8]) == stats["total_score"] and curve == 1
    assert sampler.address in served_by and 'href="#tx/' in served_by
