"""The scheduler section of Symphony's configuration (the lead composes it into `symphony.config`).

Why these knobs: they are the ones an operator tunes per deployment — where the API listens, how long a tool
may take, how hard to retry, where traces go, how many ReAct steps a run may take.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


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
    planner_max_new_tokens: int = Field(default=192, ge=16, le=2048)
