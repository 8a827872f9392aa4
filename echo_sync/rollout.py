"""What a sampler sends back: one GRPO group (G completions of one task) tagged with the policy that made it.

Why the version *and* the weights hash travel with every group: the trainer can then prove each rollout came
from a policy it actually published (the hash must equal the on-chain record for that version) and measure
staleness exactly, as verl's fully-async trainer, AReaL and prime-rl do with their policy versions.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Sample:
    text: str
    token_ids: tuple[int, ...]
    finish_reason: str = "stop"


@dataclass(frozen=True)
class RolloutGroup:
    task_index: int
    policy_version: int
    weights_sha256: str  # hex, no 0x
    sampler_id: str
    samples: tuple[Sample, ...]
    generated_at: float = field(default_factory=time.time)
    generation_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["samples"] = [asdict(s) for s in self.samples]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RolloutGroup":
        try:
            samples = tuple(
                Sample(str(s["text"]), tuple(int(t) for t in s["token_ids"]), str(s.get("finish_reason", "stop")))
                for s in data["samples"]
            )
            return cls(
                task_index=int(data["task_index"]),
                policy_version=int(data["policy_version"]),
                weights_sha256=str(data["weights_sha256"]).lower().removeprefix("0x"),
                sampler_id=str(data["sampler_id"]),
                samples=samples,
                generated_at=float(data.get("generated_at", time.time())),
                generation_s=float(data.get("generation_s", 0.0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed rollout group: {exc}") from exc
