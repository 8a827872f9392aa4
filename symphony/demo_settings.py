"""The `demo` section: what `symphony demo` asks and where it keeps its files."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class DemoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    questions: int = Field(5, ge=1, le=5, description="how many demo questions to ask")
    workdir: Path | None = Field(None, description="keep the demo's files here (none: a temporary folder)")
