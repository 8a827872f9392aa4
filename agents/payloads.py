"""The JSON carried in beacon payloads and result payloads (the bytes the contracts emit in their events).

Why JSON with a version field: any agent implementation (not only ours) must be able to read a subtask and
write a result; the chain only stores hashes, so the format is the whole interface between requester and agent.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from agents.answer_format import FORMATS
from core.errors import SymphonyError
from core.untrusted_json import loads_object

FORMAT_VERSION = 1


class PayloadError(SymphonyError):
    """A payload that is not valid JSON of the expected shape."""


@dataclass(frozen=True)
class StepResult:
    step: str
    result: str


@dataclass(frozen=True)
class SubtaskPayload:
    """What a beacon asks: the question, the chain's plan, this step, and the results of the earlier steps."""

    question: str
    plan: tuple[str, ...]
    step_index: int
    previous: tuple[StepResult, ...] = ()
    final: bool = False
    answer_format: str = "text"  # agents.answer_format: how the final step must answer ("option", "number", ...)

    @property
    def step(self) -> str:
        return self.plan[self.step_index]

    def encode(self, max_bytes: int) -> bytes:
        """JSON bytes within `max_bytes`: the oldest previous results are shortened first if needed."""
        previous = list(self.previous)
        while True:
            body = {"v": FORMAT_VERSION, "question": self.question, "plan": list(self.plan), "step_index": self.step_index,
                    "previous": [asdict(p) for p in previous], "final": self.final, "answer_format": self.answer_format}
            data = json.dumps(body, ensure_ascii=False).encode()
            if len(data) <= max_bytes:
                return data
            longest = max(range(len(previous)), key=lambda i: len(previous[i].result), default=None)
            if longest is None or len(previous[longest].result) <= 16:
                raise PayloadError(f"subtask payload needs {len(data)} bytes, more than the beacon limit {max_bytes}")
            cut = previous[longest].result
            previous[longest] = StepResult(previous[longest].step, cut[: len(cut) // 2] + " …")

    @classmethod
    def decode(cls, data: bytes) -> "SubtaskPayload":
        body = loads_object(data, PayloadError, "malformed subtask payload")
        try:
            if body.get("v") != FORMAT_VERSION:
                raise PayloadError(f"unsupported subtask payload version {body.get('v')!r}")
            plan = tuple(str(s) for s in body["plan"])
            index = int(body["step_index"])
            if not 0 <= index < len(plan):
                raise PayloadError(f"step_index {index} outside a plan of {len(plan)} steps")
            fmt = str(body.get("answer_format", "text"))
            if fmt not in FORMATS:
                raise PayloadError(f"unknown answer_format {fmt!r}")
            previous = tuple(StepResult(str(p["step"]), str(p["result"])) for p in body.get("previous", []))
            return cls(str(body["question"]), plan, index, previous, bool(body.get("final", False)), fmt)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, PayloadError):
                raise
            raise PayloadError(f"malformed subtask payload: {exc}") from None


@dataclass(frozen=True)
class ResultPayload:
    """What an executor answers: its output text, the extracted answer (final steps), and how it got there."""

    output: str
    answer: str | None = None
    abstained: bool = False
    tools_used: tuple[str, ...] = ()
    tokens: int = 0
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def encode(self, max_bytes: int = 8192) -> bytes:
        output = self.output
        while True:
            data = json.dumps({"v": FORMAT_VERSION, **{**asdict(self), "output": output, "tools_used": list(self.tools_used)}}, ensure_ascii=False).encode()
            if len(data) <= max_bytes or len(output) < 32:
                return data
            output = output[: len(output) * 3 // 4] + " …"

    @classmethod
    def decode(cls, data: bytes) -> "ResultPayload":
        body = loads_object(data, PayloadError, "malformed result payload")
        try:
            answer = body.get("answer")
            if answer is not None and not isinstance(answer, str):
                raise TypeError(f"answer must be a string or null, got {type(answer).__name__}")
            tools = body.get("tools_used", [])
            if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
                raise TypeError("tools_used must be a list of strings")
            return cls(str(body["output"]), answer, bool(body.get("abstained", False)), tuple(tools),
                       int(body.get("tokens", 0)), float(body.get("seconds", 0.0)), dict(body.get("extra", {})))
        except (KeyError, TypeError, ValueError, OverflowError) as exc:  # OverflowError: int(Infinity)
            raise PayloadError(f"malformed result payload: {exc}") from None


def result_text(data: bytes) -> str:
    """What a later step sees of an earlier step's result: its answer, else its output (raw text if malformed)."""
    try:
        result = ResultPayload.decode(data)
    except PayloadError:
        return data.decode(errors="replace")
    return result.answer or result.output


def step_payload(chain_payload: bytes, step_index: int, steps: int, previous: tuple[bytes, ...], max_bytes: int) -> bytes:
    """The payload step `step_index` of a chain is executed on.

    Why: a requester posts a whole chain at once, with one payload for all its steps (a SubtaskPayload template
    with no previous results), and every step's result is public on chain in ResultSubmitted; the executor of step
    i rebuilds its subtask from the template and the results of steps 0..i-1. A payload that is not a SubtaskPayload
    (e.g. a detection request) is the same for every step and is returned as it is.
    """
    try:
        template = SubtaskPayload.decode(chain_payload)
    except PayloadError:
        return chain_payload
    if not 0 <= step_index < len(template.plan):
        return chain_payload
    earlier = tuple(StepResult(template.plan[j], result_text(r)) for j, r in enumerate(previous[:step_index]))
    return SubtaskPayload(template.question, template.plan, step_index, earlier, final=step_index == steps - 1,
                          answer_format=template.answer_format).encode(max_bytes)
