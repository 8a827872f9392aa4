"""Typed events of a scheduler run, named after the AG-UI protocol's event types.

Why AG-UI-like names: front-ends that already render agent runs (RUN_STARTED … TOOL_CALL_RESULT) can consume
our stream unchanged; RETRY and REPLAN are ours, because the failures other frameworks hide are exactly
what an operator wants to see.
"""

from __future__ import annotations

import time
from enum import Enum
from typing import Any

from pydantic import BaseModel, Field


class EventType(str, Enum):
    RUN_STARTED = "RUN_STARTED"
    RUN_FINISHED = "RUN_FINISHED"
    RUN_ERROR = "RUN_ERROR"
    STEP_STARTED = "STEP_STARTED"
    STEP_FINISHED = "STEP_FINISHED"
    THOUGHT = "THOUGHT"
    TOOL_CALL_START = "TOOL_CALL_START"
    TOOL_CALL_ARGS = "TOOL_CALL_ARGS"
    TOOL_CALL_PROGRESS = "TOOL_CALL_PROGRESS"
    TOOL_CALL_END = "TOOL_CALL_END"
    TOOL_CALL_RESULT = "TOOL_CALL_RESULT"
    RETRY = "RETRY"
    REPLAN = "REPLAN"


class RunEvent(BaseModel):
    run_id: str
    seq: int = Field(description="position of the event within its run, from 0")
    type: EventType
    ts: float = Field(default_factory=time.time)
    data: dict[str, Any] = Field(default_factory=dict)

    def sse(self) -> bytes:
        """One Server-Sent Events frame: `id` lets a reconnecting browser resume, `event` names the type."""
        return f"id: {self.run_id}:{self.seq}\nevent: {self.type.value}\ndata: {self.model_dump_json()}\n\n".encode()
