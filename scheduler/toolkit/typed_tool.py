"""A tool with a pydantic input model, a pydantic output model and a progress channel.

Why a wrapper around the SDK's function introspection: we want the schemas to be the pydantic models the
scheduler also validates against (one source of truth, hashed and registered on chain), every failure to
reach the caller with its kind and message (see `error_payload`), and progress reporting that does not tie
tool code to the MCP `Context` type (so tools are unit-testable without a server).
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass, field
from typing import Annotated, Any, Awaitable, Callable, Generic, Protocol, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticUndefined

from scheduler.toolkit import error_payload
from tools.errors import ToolFailure

InT = TypeVar("InT", bound=BaseModel)
OutT = TypeVar("OutT", bound=BaseModel)


class Progress(Protocol):
    async def __call__(self, progress: float, total: float | None = None, message: str | None = None) -> None: ...


async def no_progress(progress: float, total: float | None = None, message: str | None = None) -> None:
    """Progress sink used when a tool runs outside a server (unit tests, direct calls)."""


Impl = Callable[[Any, Progress], Awaitable[Any]]
Hook = Callable[[str, BaseModel], Awaitable[None]]


@dataclass
class TypedTool(Generic[InT, OutT]):
    """One tool: `impl(input, progress) -> output`; raise TransientToolError/PermanentToolError for known failures."""

    name: str
    description: str
    input_model: type[InT]
    output_model: type[OutT]
    impl: Impl
    tags: tuple[str, ...] = field(default_factory=tuple)

    async def run(self, arguments: dict[str, Any], progress: Progress = no_progress) -> OutT:
        """Validate arguments, run, validate the output. Raises on failure (callers encode the error)."""
        data = self.input_model.model_validate(arguments)
        result = await self.impl(data, progress)
        if not isinstance(result, self.output_model):
            result = self.output_model.model_validate(result)
        return result

    def input_schema(self) -> dict[str, Any]:
        return self.input_model.model_json_schema()

    def output_schema(self) -> dict[str, Any]:
        return self.output_model.model_json_schema()


def describe_exception(exc: BaseException) -> str:
    """The error line sent to the client: kind from ToolFailure subclasses, validation errors are permanent."""
    if isinstance(exc, ToolFailure):
        return error_payload.encode(exc.kind, type(exc).__name__, str(exc))
    if isinstance(exc, ValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors())
        return error_payload.encode("permanent", "InvalidArguments", problems)
    if isinstance(exc, TimeoutError):
        return error_payload.encode("transient", "TimeoutError", str(exc) or "timed out")
    return error_payload.encode("permanent", type(exc).__name__, str(exc) or repr(exc))


def mcp_function(tool: TypedTool, before_call: Hook | None = None) -> Callable[..., Awaitable[Any]]:
    """Build the function MCPServer introspects: keyword parameters from the input model, output model as return type.

    `before_call(tool_name, input)` runs before the implementation (fault injection, latency emulation).
    """
    from mcp.server.mcpserver import Context
    from mcp.server.mcpserver.exceptions import ToolError

    async def fn(ctx: Context, **kwargs: Any) -> Any:
        async def progress(value: float, total: float | None = None, message: str | None = None) -> None:
            try:
                await ctx.report_progress(value, total, message)
            except Exception:  # a client that asked for no progress token must not fail the tool
                pass

        try:
            data = tool.input_model.model_validate(kwargs)
            if before_call is not None:
                await before_call(tool.name, data)
            result = await tool.impl(data, progress)
            if not isinstance(result, tool.output_model):
                result = tool.output_model.model_validate(result)
            return result
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none swallowed
            raise ToolError(describe_exception(exc)) from exc

    params = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)]
    annotations: dict[str, Any] = {"ctx": Context}
    for name, info in tool.input_model.model_fields.items():
        meta = copy.copy(info)  # the default travels as the parameter default, not twice
        meta.default, meta.default_factory = PydanticUndefined, None
        annotation = Annotated[info.annotation, meta]
        default = inspect.Parameter.empty if info.is_required() else info.get_default(call_default_factory=True)
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default))
        annotations[name] = annotation
    annotations["return"] = tool.output_model
    fn.__signature__ = inspect.Signature(params, return_annotation=tool.output_model)  # type: ignore[attr-defined]
    fn.__annotations__ = annotations
    fn.__name__ = tool.name
    fn.__doc__ = tool.description
    return fn
