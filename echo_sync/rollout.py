"""What a sampler sends back: one GRPO group (G rollouts of one task) tagged with the policy that made it.

Why the version *and* the weights hash travel with every group: the trainer can then prove each rollout came
from a policy it actually published (the hash must equal the on-chain record for that version) and measure
staleness exactly, as verl's fully-async trainer, AReaL and prime-rl do with their policy versions.

Why a rollout is a transcript plus turns: a tool-using rollout is several model turns (the constrained call,
then — after the tool's real result, which the model did not write — the constrained answer). Each `Turn` says
which prefix of the transcript the model saw (`n_messages`; the trainer re-encodes it with the same
`encode_chat` the sampler's backend used), the tokens the model drew, their log-probs under the distribution
they were drawn from (for the importance ratio) and the constraint that masked that distribution (the trainer
replays it). Only turn tokens are ever trained: the tool's result lives in a later turn's context and so is
masked out of the loss by construction. A single-turn text rollout is the degenerate case with one turn.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from agents.llm.base import Constraint


@dataclass(frozen=True)
class Turn:
    """One model turn: it saw messages[:n_messages] and drew `token_ids` (with `logprobs`) under `constraint`."""

    n_messages: int
    token_ids: tuple[int, ...]
    logprobs: tuple[float, ...] = ()
    constraint: Constraint | None = None
    finish_reason: str = "stop"

    def to_json(self) -> dict[str, Any]:
        return {"n_messages": self.n_messages, "token_ids": list(self.token_ids), "logprobs": list(self.logprobs),
                "constraint": asdict(self.constraint) if self.constraint else None, "finish_reason": self.finish_reason}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Turn":
        c = data.get("constraint")
        constraint = Constraint(str(c["kind"]), str(c["source"]), str(c["name"])) if c else None  # type: ignore[arg-type]
        if constraint is not None and constraint.kind not in ("json_schema", "regex", "lark"):
            raise ValueError(f"unknown constraint kind {constraint.kind!r}")
        turn = cls(int(data["n_messages"]), tuple(int(t) for t in data["token_ids"]),
                   tuple(float(x) for x in data.get("logprobs", ())), constraint, str(data.get("finish_reason", "stop")))
        if turn.logprobs and len(turn.logprobs) != len(turn.token_ids):
            raise ValueError("a turn needs one log-prob per token")
        if turn.n_messages < 1:
            raise ValueError("a turn must see at least one message")
        return turn


@dataclass(frozen=True)
class Sample:
    """One rollout. `text` is what the reward reads (the final answer); `token_ids` the last turn's tokens.

    `messages`/`turns` empty: a legacy single-turn sample whose context is the task's own prompt."""

    text: str
    token_ids: tuple[int, ...]
    finish_reason: str = "stop"
    messages: tuple[dict[str, str], ...] = ()
    turns: tuple[Turn, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "token_ids": list(self.token_ids), "finish_reason": self.finish_reason,
                "messages": [dict(m) for m in self.messages], "turns": [t.to_json() for t in self.turns]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Sample":
        messages = tuple({"role": str(m["role"]), "content": str(m["content"])} for m in data.get("messages", ()))
        turns = tuple(Turn.from_json(t) for t in data.get("turns", ()))
        if any(t.n_messages > len(messages) for t in turns):
            raise ValueError("a turn refers to more messages than the transcript has")
        return cls(str(data["text"]), tuple(int(t) for t in data["token_ids"]), str(data.get("finish_reason", "stop")),
                   messages, turns)


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
        data["samples"] = [s.to_json() for s in self.samples]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RolloutGroup":
        try:
            samples = tuple(Sample.from_json(s) for s in data["samples"])
            return cls(
                task_index=int(data["task_index"]),
                policy_version=int(data["policy_version"]),
                weights_sha256=str(data["weights_sha256"]).lower().removeprefix("0x"),
                sampler_id=str(data["sampler_id"]),
                samples=samples,
                generated_at=float(data.get("generated_at", time.time())),
                generation_s=float(data.get("generation_s", 0.0)),
            )
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise ValueError(f"malformed rollout group: {exc}") from exc
