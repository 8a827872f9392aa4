"""A tool agent: a named set of typed tools served by the official MCP SDK over Streamable HTTP.

Why a class around MCPServer: the scheduler needs more than the SDK's server — a declared capacity (how many
calls it accepts at once, registered on chain and enforced with a semaphore here too, so a misbehaving
client cannot overload it), a schema hash, and a server we can start on a free port and stop cleanly in
tests and in `symphony tools serve`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

from pydantic import BaseModel

from core.errors import ServiceStartError
from core.processes import free_port

from scheduler.toolkit.faults import FaultPlan
from scheduler.toolkit.schema_hash import schema_hash
from scheduler.toolkit.typed_tool import TypedTool, mcp_function


def quiet_sdk_logs() -> None:
    """The SDK and httpx log every HTTP request at INFO; scheduler runs would drown in them."""
    for name in ("mcp", "httpx", "httpcore", "uvicorn", "uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).setLevel(logging.WARNING)


@dataclass
class ToolAgent:
    name: str
    description: str
    tools: list[TypedTool]
    capacity: int = 4
    model_id: str = "tool"
    faults: FaultPlan = field(default_factory=FaultPlan)

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {self.capacity}")
        names = [t.name for t in self.tools]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate tool names in agent {self.name}: {names}")
        self._slots = asyncio.Semaphore(self.capacity)
        self.in_flight = 0
        self.max_in_flight = 0

    def set_capacity(self, capacity: int) -> None:
        """Declare (and enforce) a different number of concurrent calls; before the agent serves."""
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._slots = asyncio.Semaphore(capacity)

    def tool(self, name: str) -> TypedTool:
        for t in self.tools:
            if t.name == name:
                return t
        raise KeyError(name)

    async def _before_call(self, tool_name: str, data: BaseModel) -> None:
        if self.faults.active:
            await self.faults.before_call(tool_name, data)

    def build_server(self) -> Any:
        from mcp.server.mcpserver import MCPServer

        quiet_sdk_logs()
        server = MCPServer(self.name, description=self.description, log_level="WARNING")
        for t in self.tools:
            server.add_tool(self._guarded(t), name=t.name, description=t.description, structured_output=True)
        return server

    def _guarded(self, tool: TypedTool) -> Any:
        """The MCP function, with the agent's capacity enforced server-side and concurrency recorded."""
        inner = mcp_function(tool, self._before_call)
        agent = self

        async def guarded(**kwargs: Any) -> Any:
            async with agent._slots:
                agent.in_flight += 1
                agent.max_in_flight = max(agent.max_in_flight, agent.in_flight)
                try:
                    return await inner(**kwargs)
                finally:
                    agent.in_flight -= 1

        guarded.__signature__ = inner.__signature__  # type: ignore[attr-defined]
        guarded.__annotations__ = inner.__annotations__
        guarded.__name__ = inner.__name__
        guarded.__doc__ = inner.__doc__
        return guarded

    async def listed_tools(self) -> list[dict[str, Any]]:
        """The tools exactly as the MCP server lists them (what clients see and hash)."""
        server = self.build_server()
        return [
            {"name": t.name, "description": t.description, "input_schema": t.input_schema, "output_schema": t.output_schema}
            for t in await server.list_tools()
        ]

    async def schema_hash(self) -> str:
        return schema_hash(await self.listed_tools())

    @contextlib.asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve on host:port (0 = a free port) inside the running event loop; yields the MCP endpoint URL."""
        import uvicorn

        port = port or free_port(host)
        app = self.build_server().streamable_http_app(host=host)
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="critical", lifespan="on"))
        task = asyncio.create_task(_serve_quietly(server))
        try:
            while not server.started:
                if task.done():
                    # uvicorn reports a bind failure by logging it and exiting: say it in one line instead.
                    raise ServiceStartError(f"tool agent {self.name} could not listen on {host}:{port} "
                                            "(address in use or not available)")
                await asyncio.sleep(0.02)
            yield f"http://{host}:{port}/mcp"
        finally:
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=5)


async def _serve_quietly(server: Any) -> None:
    """uvicorn exits the process (SystemExit) when it cannot bind; keep that inside the serving task."""
    try:
        await server.serve()
    except SystemExit:
        pass
