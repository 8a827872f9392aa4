"""The live page in headless Chromium: it connects to the SSE endpoint and renders events as they arrive.

Needs /usr/bin/chromium (Debian: `apt-get install -y chromium`); skipped with that reason otherwise.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from scheduler.dispatch.dispatcher import Dispatcher
from scheduler.engine import Engine
from scheduler.observe.bus import EventBus
from scheduler.observe.sse_server import SchedulerService
from scheduler.planning.scripted import ScriptedPlanner
from scheduler.toolkit.builtin import build_agent

from .conftest import serve
from .cdp import chromium_page
from .test_retry_sse import http_service

CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None,
                                reason="headless browser test needs /usr/bin/chromium (apt-get install -y chromium)")


def _plan(expression: str) -> list[dict]:
    return [{"thought": "compute", "actions": [{"id": "c1", "tool": "calculate", "args": {"expression": expression}}]},
            {"thought": "done", "final_answer": "{{c1.value}}"}]


async def test_live_page_shows_events(tmp_path: Path) -> None:
    python = build_agent("python", tmp_path)
    python.faults.latency_s = 0.5
    python.faults.fail_first = 1
    async with serve(python) as connections:
        engine = Engine(Dispatcher(connections, EventBus()))
        service = SchedulerService(engine, lambda options: ScriptedPlanner(options["plan"]))
        async with http_service(service) as base:
            first = service.start_run("first task", {"plan": _plan("20 + 22")})
            await service.tasks[first]
            async with chromium_page(CHROMIUM, f"{base}/", tmp_path / "chrome") as page:
                # the finished run is replayed; a second run starts only once the page shows the first
                await page.wait_for(f"document.body.innerText.includes('answer: 42')")
                seen_early = await page.evaluate("Number(document.getElementById('event-count').textContent)")
                second = service.start_run("second task", {"plan": _plan("100 * 3")})
                await page.wait_for("document.body.innerText.includes('answer: 300')", timeout=60)
                dom = await page.evaluate("document.documentElement.outerHTML")
                text = await page.evaluate("document.body.innerText")
            await service.tasks[second]
    assert 'id="run-' + first in dom and 'id="run-' + second in dom
    assert "answer: 42" in text  # replayed run
    assert "RETRY" in text and "injected fault" in text
    assert "second task" in text and "live" in text
    count = int(re.search(r'id="event-count">(\d+)<', dom).group(1))
    assert count > seen_early  # events kept arriving after the page had loaded
