"""An agent's declared identity and behaviour: the `agent` section of the configuration.

Why a profile: Symphony routes subtasks by *declared* capability (embedded into the on-chain vector), and the
declaration has to be honest — so the same profile also decides what the agent can really do (system prompt,
tools such as a Python runner or document retrieval, model).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.settings import LLMSettings
from core.paths import state_dir

ToolName = Literal["python", "calculator", "retrieval", "letter_counter", "item_counter"]


class AgentProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    capability: str = Field(min_length=1, description="declared strengths; embedded into the on-chain capability vector")
    capability_examples: list[str] = Field(
        default_factory=list, max_length=128,
        description="example tasks the agent was measured to solve; when given, the on-chain vector is their centroid "
                    "(agents.capability.encode_centroid), which routes far better than the prose `capability`")
    model_id: str | None = Field(None, max_length=128, description="what the ledger lists as this agent's model "
                                 "(default: agents.assembly.model_id: the served adapter's sha256, else the model folder's weights hash)")
    system_prompt: str = "You are a careful assistant. Solve the step you are given; be brief and exact."
    tags: list[str] = Field(default_factory=list, max_length=16)
    tools: list[ToolName] = Field(default_factory=list)
    corpus: Path | None = Field(None, description="folder of text documents for the retrieval tool")
    capacity: int = Field(1, ge=1, le=64, description="subtasks executed at once")
    stake_wei: int = Field(10**16, ge=0)
    min_score: float = Field(0.0, ge=0.0, le=2.0, description="bid only when the match score reaches this (1.0 = identical)")
    endpoint: str = ""
    state_dir: Path = Field(default_factory=lambda: state_dir() / "agents",
                            description="checkpoint and worker state live here (default: <state dir>/agents)")
    heartbeat_interval_s: float = Field(60.0, gt=0)
    poll_interval_s: float = Field(0.25, gt=0, le=30, description="how often the worker asks the chain for new events "
                                   "when there were none (each poll is a few RPC calls: many workers polling fast load "
                                   "the node and this CPU; a bid window must be longer than this)")
    keeper_grace_s: float | None = Field(
        30.0, ge=0, description="finish the tasks this agent bid on when their requester is gone: close, reclaim, start "
        "the reveal or finalize once that move is this many seconds overdue (agents.task_keeper); null: never")
    keeper_interval_s: float = Field(5.0, gt=0, description="seconds between two passes of that keeper")
    tool_examples: bool = Field(True, description="show each tool's worked example before the task (Echo's "
                                "specialists were trained without them: serve them as trained)")
    max_tool_rounds: int = Field(2, ge=0, le=10, description="tool calls per step (a failed call may be retried)")
    decoding: Literal["constrained", "free"] = Field(
        "constrained", description="constrained JSON replies (default), or free text (the benchmarks' baseline)")
    llm: LLMSettings = LLMSettings()

