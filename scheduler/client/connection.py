"""One MCP Streamable-HTTP connection to a tool agent, with schema verification and classified failures.

Why this layer: the SDK returns a tool failure as `is_error` text, raises on transport trouble, and raises
`RuntimeError` when structured output does not match the declared schema. The dispatcher needs one answer
— a `CallOutcome` that says ok / transient / permanent and why — so it can retry, replan or report.
A call cancelled here (timeout, run cancelled) cancels the HTTP request, and the SDK cancels the server-side
handler; tests check that the server's work actually stops.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable

from scheduler.client.outcome import CallOutcome
from scheduler.client.tool_spec import ToolSpec
from scheduler.errors import SchedulerError, SchemaMismatchError
from scheduler.toolkit import error_payload
from scheduler.toolkit.agent_server import quiet_sdk_logs
from scheduler.toolkit.schema_hash import schema_hash

ProgressSink = Callable[[float, float | None, str | None], Awaitable[None]]


def _is_transport_error(exc: BaseException) -> bool:
    import httpx2

    return isinstance(exc, (OSError, ConnectionError, httpx2.TransportError))


# A server that accepts the connection and never answers (wedged process, half-dead proxy) held the handshake for
# more than a minute inside the SDK (issue #15); a tool agent that cannot list its tools in this time is unreachable.
CONNECT_TIMEOUT_S = 10.0


class AgentConnection:
    """Connect with `async with`; `tools` holds the listed ToolSpecs, `listed_hash` their schema hash."""

    def __init__(self, name: str, url: str, capacity: int = 4, expected_hash: str | None = None,
                 connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        if capacity < 1:
            raise SchedulerError(f"agent {name}: capacity must be >= 1")
        self.name, self.url, self.capacity, self.expected_hash = name, url, capacity, expected_hash
        self.connect_timeout_s = connect_timeout_s
        self.tools: dict[str, ToolSpec] = {}
        self.listed_hash: str | None = None
        self._client: Any = None
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> "AgentConnection":
        await self._connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _connect(self) -> None:
        from mcp import Client

        quiet_sdk_logs()
        client = Client(self.url, cache=None)
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                await client.__aenter__()
                listed = (await client.list_tools()).tools
        except TimeoutError:
            try:
                await client.__aexit__(None, None, None)
            except Exception:
                pass
            raise SchedulerError(f"cannot reach tool agent {self.name} at {self.url}: no answer to the MCP handshake "
                                 f"within {self.connect_timeout_s:g} s") from None
        except Exception as exc:
            try:
                await client.__aexit__(None, None, None)
            except Exception:
                pass
            raise SchedulerError(f"cannot reach tool agent {self.name} at {self.url}: {type(exc).__name__}: {exc}") from exc
        raw = [{"name": t.name, "description": t.description, "input_schema": t.input_schema, "output_schema": t.output_schema} for t in listed]
        self.listed_hash = schema_hash(raw)
        if self.expected_hash is not None and self.expected_hash.lower() != self.listed_hash:
            await client.__aexit__(None, None, None)
            raise SchemaMismatchError(
                f"tool agent {self.name} at {self.url} lists schemas with hash {self.listed_hash}, "
                f"but registered {self.expected_hash} on chain; refusing to use it"
            )
        self.tools = {r["name"]: ToolSpec(self.name, r["name"], r["description"] or "", r["input_schema"], r["output_schema"]) for r in raw}
        self._client = client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.__aexit__(None, None, None)
            except Exception:  # closing a connection whose server died must not mask the real error
                pass

    async def _reconnect(self) -> None:
        async with self._lock:
            await self.close()
            await self._connect()

    async def call(self, call_id: str, tool: str, arguments: dict[str, Any], timeout_s: float | None,
                   progress: ProgressSink | None = None) -> CallOutcome:
        """One attempt. Never raises for tool-side problems; CancelledError propagates (and cancels the server)."""
        outcome = CallOutcome(call_id=call_id, tool=tool, agent=self.name, ok=False, attempts=1, started=time.time())

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            outcome.progress.append((value, total, message))
            if progress is not None:
                await progress(value, total, message)

        try:
            if self._client is None:
                await self._reconnect()
            async with asyncio.timeout(timeout_s):
                result = await self._client.call_tool(tool, arguments, progress_callback=on_progress)
        except TimeoutError:
            self._fail(outcome, "transient", "TimeoutError", f"no answer within {timeout_s:g} s (call cancelled on the agent)")
        except SchedulerError as exc:
            self._fail(outcome, "transient", "AgentUnreachable", str(exc))
        except RuntimeError as exc:  # the SDK's output-schema check
            self._fail(outcome, "permanent", "InvalidOutput", str(exc))
        except Exception as exc:  # noqa: BLE001
            if _is_transport_error(exc):
                await self.close()  # reconnect on the next attempt
                self._fail(outcome, "transient", type(exc).__name__, str(exc) or repr(exc))
            else:
                self._fail(outcome, "permanent", type(exc).__name__, str(exc) or repr(exc))
        else:
            if result.is_error:
                text = " ".join(getattr(block, "text", "") for block in result.content)
                info = error_payload.decode(text)
                self._fail(outcome, info.kind, info.type, info.message)
            else:
                outcome.ok = True
                outcome.output = result.structured_content if result.structured_content is not None else {
                    "text": " ".join(getattr(block, "text", "") for block in result.content)}
        outcome.finished = time.time()
        return outcome

    @staticmethod
    def _fail(outcome: CallOutcome, kind: str, type_name: str, message: str) -> None:
        outcome.ok, outcome.error_kind, outcome.error_type, outcome.error = False, kind, type_name, message
