"""Putting a scheduler together from options: which agents (static URLs, the chain, or local built-ins).

Why here and not in the CLI: `symphony scheduler serve`, `symphony scheduler run`, the benchmark and tests
all assemble the same way; the CLI only parses arguments.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import AsyncIterator

from scheduler.client.connection import AgentConnection
from scheduler.dispatch.dispatcher import Dispatcher
from scheduler.dispatch.retry import RetryPolicy
from scheduler.errors import SchedulerError
from scheduler.observe.bus import EventBus
from scheduler.settings import SchedulerSettings

SPEC = re.compile(r"^(?P<name>[A-Za-z0-9_\-]+)=(?P<url>https?://[^@\s]+)(?:@(?P<capacity>\d+))?$")


def parse_agent_spec(spec: str) -> tuple[str, str, int]:
    match = SPEC.match(spec.strip())
    if not match:
        raise SchedulerError(f"bad agent spec {spec!r}; expected NAME=URL or NAME=URL@CAPACITY, e.g. python=http://127.0.0.1:9001/mcp@2")
    return match["name"], match["url"], int(match["capacity"] or 4)


@contextlib.asynccontextmanager
async def connected_agents(specs: list[str], ledger=None, local_files: Path | None = None,
                           artefacts: Path | None = None) -> AsyncIterator[list[AgentConnection]]:
    """Connections to static agents, plus chain-discovered ones (if a ledger is given), plus local built-ins."""
    async with contextlib.AsyncExitStack() as stack:
        connections: list[AgentConnection] = []
        for spec in specs:
            name, url, capacity = parse_agent_spec(spec)
            connections.append(await stack.enter_async_context(AgentConnection(name, url, capacity)))
        if ledger is not None:
            from scheduler.client.discovery import connect_discovered, discover

            found = discover(ledger)
            discovered, problems = await connect_discovered(found, strict=False)
            for problem in problems:
                print(f"skipping agent: {problem}")
            for connection in discovered:
                stack.push_async_callback(connection.close)
            connections.extend(discovered)
        if local_files is not None:
            from scheduler.evaluation.harness import running_agents

            connections.extend(await stack.enter_async_context(running_agents(local_files, artefacts=artefacts)))
        if not connections:
            raise SchedulerError("no tool agents: pass --agent NAME=URL, --from-chain, or --local")
        yield connections


def build_dispatcher(connections: list[AgentConnection], settings: SchedulerSettings, bus: EventBus | None = None) -> Dispatcher:
    retry = RetryPolicy(max_attempts=settings.retry_attempts, base_delay_s=settings.retry_base_delay_s, max_delay_s=settings.retry_max_delay_s)
    return Dispatcher(connections, bus or EventBus(trace_dir=settings.trace_dir), retry, timeout_s=settings.call_timeout_s)
