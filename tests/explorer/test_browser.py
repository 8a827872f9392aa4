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

from .conftest import caught_up, explorer_of, served

CHROMIUM = "/usr/bin/chromium"
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "explorer.png"

pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None,
                                reason="headless browser test needs /usr/bin/chromium (apt-get install -y chromium)")


async def test_the_page_shows_a_running_task_its_bids_vote_and_winner(chain, tmp_path: Path) -> None:
    service = explorer_of(chain.node.rpc_url, chain.manifest)
    async with served(service) as (url, _session):
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
            text = await page.evaluate("document.body.innerText")
            reveals = await page.evaluate("document.querySelectorAll('#task tr.reveal').length")
            commits = await page.evaluate("document.querySelectorAll('#task tr.commit').length")
            casts = await page.evaluate("document.querySelectorAll('code.cast').length")
            shot = await page.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            await page.evaluate("document.getElementById('q').value = '0x" + "ab" * 20 + "'; "
                                "document.querySelector('#search button').click()")
            await page.wait_for("document.querySelector('#search-result .error') !== null")
            unknown = await page.evaluate("document.getElementById('search-result').innerText")
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
