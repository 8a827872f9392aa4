"""The live-detector section of Symphony's configuration.

Why these knobs: since protocol v2 a detector is scored only on windows requesters open (docs/evaluation_log.md).
The live detector answers every open window of its market (`answer_windows`), looking back `lookback_s` seconds
from its commit; with `open_windows` it also acts as its own requester and opens a window per pool every
`commit_every_s` seconds (paying the fee; the entry it logs there is the opener's — public, scored, but worth
no reputation), `lead_s` seconds ahead, about `[t0, t0 + horizon_s]`. It reveals `reveal_after_s` after the
window starts (never later than the horizon, so nothing expires by accident) and resolves its own entries once
due. Times are chain time, so a test can drive them with evm_increaseTime.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, model_validator

from core.paths import PROJECT_ROOT

#: The trained detector that ships with the repository (docs/hideshill.md, "The shipped detector").
SHIPPED_DETECTOR = PROJECT_ROOT / "detectors" / "hideshill-grpo"


def default_detector() -> Path | None:
    """The shipped detector when the checkout has it, else None (the rule baseline).

    Why a default at all: a new user's first `detect run` should watch with the detector the benchmark measured,
    not with the transparent rule (kept as the named baseline `rule`), which misses campaigns run from aged accounts.
    """
    return SHIPPED_DETECTOR if (SHIPPED_DETECTOR / "detector.pt").exists() else None


class LiveDetectorSettings(BaseModel):
    horizon_s: int = Field(14_400, gt=0, le=30 * 86_400, description="prediction horizon H (multiple of 4)")
    lookback_s: int = Field(14_400, gt=0, description="observed history before each commit")
    commit_every_s: int = Field(3_600, gt=0, description="chain seconds between two predictions on one pool")
    reveal_after_s: int | None = Field(None, ge=0, description="reveal delay after commit (default H/2)")
    poll_interval_s: float = Field(1.0, gt=0, description="wall seconds between two passes")
    steps: int = Field(0, ge=0, description="stop after this many passes (0: until interrupted)")
    posts_path: Path | None = Field(None, description="JSONL social feed the simulator (or a crawler) appends to")
    detector_path: Path | None = Field(default_factory=default_detector,
                                       description="trained detector folder, or `rule` for the rule baseline "
                                                   "(default: the shipped detector; None: the rule)")
    state_path: Path | None = Field(None, description="where pending salts are kept across restarts")
    resolve_others: bool = Field(False, description="also resolve other detectors' due entries")
    answer_windows: bool = Field(True, description="commit a prediction to every open window of the market")
    open_windows: bool = Field(False, description="also open a window per pool every commit_every_s (pays the fee)")
    lead_s: int = Field(60, ge=1, description="windows this detector opens start this many seconds later (<= H/4)")

    @model_validator(mode="after")
    def _check(self) -> "LiveDetectorSettings":
        if self.horizon_s % 4:
            raise ValueError(f"horizon_s must be a multiple of 4, got {self.horizon_s}")
        if self.reveal_after_s is not None and self.reveal_after_s >= self.horizon_s:
            raise ValueError("reveal_after_s must be shorter than the horizon")
        return self

    @property
    def reveal_delay(self) -> int:
        return self.horizon_s // 2 if self.reveal_after_s is None else self.reveal_after_s
