"""The `demo` section: what `symphony demo` asks and where it keeps its files."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agents.datasets import DEMO_FAMILIES, FAMILIES


class DemoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    questions: int = Field(5, ge=1, le=20, description="how many demo questions to ask")
    families: tuple[str, ...] = Field(DEMO_FAMILIES, min_length=1, description="task families the questions come from")
    offset: int | None = Field(None, ge=0, lt=100_000, description="question seed offset (none: drawn fresh, printed)")
    workdir: Path | None = Field(None, description="keep the demo's files here (none: a temporary folder)")

    @field_validator("families")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [f for f in value if f not in FAMILIES]
        if unknown:
            raise ValueError(f"unknown task family {', '.join(unknown)}; choose from {', '.join(FAMILIES)}")
        return value
