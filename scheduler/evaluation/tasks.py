"""Loading and checking the evaluation tasks (one JSON object per line in tasks.jsonl)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from core.untrusted_json import loads
from scheduler.errors import SchedulerError

SUITE_DIR = Path(__file__).resolve().parents[2] / "data" / "gaia_local"


class EvalTask(BaseModel):
    id: str
    level: int = Field(ge=1, le=3)
    question: str
    answer: str
    parallelisable: bool = False
    plan: list[dict[str, Any]] = Field(min_length=1)


def load_tasks(path: Path | None = None, levels: set[int] | None = None, limit: int | None = None) -> list[EvalTask]:
    path = Path(path) if path else SUITE_DIR / "tasks.jsonl"
    if not path.is_file():
        raise SchedulerError(f"task file not found: {path} (generate it with data/gaia_local/build_tasks.py)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SchedulerError(f"cannot read task file {path}: {exc}") from None
    tasks = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            tasks.append(EvalTask.model_validate(loads(line, SchedulerError, f"{path}:{number}: invalid task")))
        except ValidationError as exc:
            raise SchedulerError(f"{path}:{number}: invalid task: {exc}") from exc
    if levels:
        tasks = [t for t in tasks if t.level in levels]
    return tasks[:limit] if limit else tasks
