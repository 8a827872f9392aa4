"""The scheduler section of Symphony's configuration (composed into `symphony.config`).

Why these knobs: they are the ones an operator tunes per deployment — where the API listens, how long a tool
may take, how hard to retry, where traces go, how many ReAct steps a run may take.
"""

from __future__ import annotations

from pathlib import Path

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class EvalSettings(BaseModel):
    """`symphony scheduler eval`: the local GAIA-style suite."""

    model_config = ConfigDict(extra="forbid")

    planner: Literal["scripted", "llm"] = Field("scripted", description="scripted plans or the LLM ReAct planner")
    mode: Literal["parallel", "sequential"] = Field("parallel", description="dispatch a step's actions at once or one by one")
    levels: tuple[int, ...] = Field((1, 2, 3), min_length=1, description="task levels to run")
    limit: int | None = Field(None, ge=1, description="at most this many tasks")


class ToolServerSettings(BaseModel):
    """`symphony tools serve`: one built-in MCP tool agent."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field("127.0.0.1", description="listen address")
    port: int = Field(0, ge=0, le=65535, description="listen port (0: a free port)")
    root: Path | None = Field(None, description="folder the agent works in (None: the bundled evaluation files)")
    output_dir: Path | None = Field(None, description="webpage agent: where pages are written")
    capacity: int | None = Field(None, ge=1, description="override the agent's declared concurrent-call capacity")
    fault_rate: float = Field(0.0, ge=0.0, le=1.0, description="share of calls that fail transiently (testing)")
    latency_s: float = Field(0.0, ge=0.0, description="seconds added to every call (network emulation)")
    endpoint: str | None = Field(None, description="public endpoint to register (None: the local URL)")


class SchedulerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    max_steps: int = Field(default=8, ge=1, le=100)
    call_timeout_s: float = Field(default=30.0, gt=0)
    retry_attempts: int = Field(default=4, ge=1, le=20)
    retry_base_delay_s: float = Field(default=0.1, ge=0)
    retry_max_delay_s: float = Field(default=5.0, ge=0)
    trace_dir: Path = Field(default=Path("build/traces"), description="one JSONL file per run")
    agents: list[str] = Field(default_factory=list, description="static tool agents as NAME=URL[@CAPACITY]")
    from_chain: bool = Field(False, description="also discover tool agents on the capability ledger")
    local_agents: bool = Field(False, description="also start the built-in agents over the bundled evaluation files")
    planner_max_new_tokens: int = Field(default=192, ge=16, le=2048)
    eval: EvalSettings = EvalSettings()
    tool_server: ToolServerSettings = ToolServerSettings()
