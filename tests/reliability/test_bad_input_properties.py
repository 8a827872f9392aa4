"""Issue #15: bad input everywhere, property-tested.

Every decoder that reads input from outside the process (bytes from chain events, HTTP bodies and headers, MCP
tool results, configuration files and SYMPHONY_* variables, command-line arguments, files named on the command
line) is given arbitrary input. The property each one must keep: it returns a valid value or raises its
module's documented error (a `SymphonyError` subclass, or the specific error it documents) and never lets
another exception type escape (KeyError, TypeError, AttributeError, OverflowError, UnicodeDecodeError,
RecursionError, ...). Where a decoder has an encoder, decode(encode(x)) == x for valid x.

A property the code does not keep yet stays here, marked `xfail(strict=True)` with the bug in one line and its
minimal failing input as an explicit `@example`, so it fails deterministically until the code is fixed (then
the strict xfail turns into a failure and the mark must go).

Why input classes are separate tests: "not JSON at all", "JSON of the wrong shape" and "a valid payload with
fields replaced" fail for different reasons; a bug in one class must not hide what the others prove.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import types
import typing
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agents.payloads import PayloadError, ResultPayload, StepResult, SubtaskPayload, result_text, step_payload
from core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROCESSES = settings(max_examples=1, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- strategies ------------------------------------------------------------------------------------------------

class Raw(str):
    """JSON text inserted as it is: what `json.dumps` cannot write but a peer can send (a 5000-digit integer)."""


HUGE_INT = Raw("1" * 5000)  # json.loads raises ValueError (int max_str_digits), not JSONDecodeError
LONG_INT = Raw("9" * 400)  # parses to an int, but float() of it raises OverflowError
BIG_TEXT = "x" * 100_000


def to_json(value: Any) -> str:
    """JSON text of `value`, with Raw pieces copied verbatim; NaN/Infinity as Python's json writes (and reads) them."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(to_json(v) for v in value) + "]"
    return json.dumps(value)


def to_bytes(value: Any) -> bytes:
    return to_json(value).encode()


def json_values(leaves: st.SearchStrategy, keys: st.SearchStrategy[str] = st.text(max_size=10)) -> st.SearchStrategy:
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4), max_leaves=10)


finite_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
ordinary_json = json_values(finite_scalars)  # any shape, finite numbers, ordinary sizes
any_json = json_values(finite_scalars | st.sampled_from([math.inf, -math.inf, math.nan, HUGE_INT]))
field_values = ordinary_json | st.just(BIG_TEXT)  # what a mutation puts into one field


def parses_as_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return False
    return True


# Bytes that are not JSON: arbitrary bytes, invalid UTF-8, text, and truncated or corrupted JSON.
non_json_bytes = st.one_of(
    st.binary(max_size=300),
    st.binary(max_size=100).map(lambda b: b"\xff" + b),
    st.text(max_size=200).map(str.encode),
    ordinary_json.map(lambda v: to_bytes(v)[:-1]),
    st.tuples(ordinary_json, st.binary(min_size=1, max_size=4)).map(lambda t: to_bytes(t[0]) + b"\x00" + t[1]),
    st.just(b'{"v": 1, "question": "\xff\xfe"}'),
).filter(lambda b: not parses_as_json(b))
json_bytes = ordinary_json.map(to_bytes)


def mutated(valid: st.SearchStrategy[dict], values: st.SearchStrategy = field_values) -> st.SearchStrategy[dict]:
    """A valid body with one to three fields dropped, replaced by arbitrary JSON, or added."""

    @st.composite
    def mutate(draw: st.DrawFn) -> dict:
        body = dict(draw(valid))
        for _ in range(draw(st.integers(1, 3))):
            keys = sorted(body)
            op = draw(st.sampled_from(["drop", "replace", "add"]))
            if op == "drop" and keys:
                body.pop(draw(st.sampled_from(keys)))
            elif op == "replace" and keys:
                body[draw(st.sampled_from(keys))] = draw(values)
            else:
                body[draw(st.text(max_size=8))] = draw(values)
        return body

    return mutate()


OVERFLOWING_JSON = [math.inf, -math.inf, math.nan, LONG_INT]  # Python's json reads Infinity, -Infinity and NaN
OVERFLOWING_VALUES = [math.inf, -math.inf, math.nan, 10**400]  # the same, parsed


def non_finite_in_one_field(valid: st.SearchStrategy[dict], fields: list[str], values: list = OVERFLOWING_JSON) -> st.SearchStrategy[dict]:
    """A valid body with one numeric field set to a number int()/float() cannot convert (non-finite, or too big)."""
    return st.tuples(valid, st.sampled_from(fields), st.sampled_from(values)).map(lambda t: {**t[0], t[1]: t[2]})


def deep(depth: int = 5000) -> bytes:
    return b'{"v": ' + b"[" * depth + b"]" * depth + b"}"


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = Path(folder) / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# -- agents/payloads.py: what beacons and results carry on chain ---------------------------------------------------

from agents.answer_format import FORMATS  # noqa: E402

step_results = st.builds(StepResult, st.text(max_size=30), st.text(max_size=400))


@st.composite
def subtasks(draw: st.DrawFn) -> SubtaskPayload:
    plan = tuple(draw(st.lists(st.text(max_size=60), min_size=1, max_size=6)))
    return SubtaskPayload(draw(st.text(max_size=200)), plan, draw(st.integers(0, len(plan) - 1)),
                          tuple(draw(st.lists(step_results, max_size=4))), draw(st.booleans()), draw(st.sampled_from(FORMATS)))


subtask_bodies = subtasks().map(lambda p: json.loads(p.encode(1 << 30)))


def assert_valid_subtask(p: SubtaskPayload) -> None:
    assert isinstance(p, SubtaskPayload)
    assert isinstance(p.question, str) and p.plan and all(isinstance(s, str) for s in p.plan)
    assert isinstance(p.step_index, int) and 0 <= p.step_index < len(p.plan)
    assert all(isinstance(r, StepResult) and isinstance(r.step, str) and isinstance(r.result, str) for r in p.previous)
    assert isinstance(p.final, bool) and p.answer_format in FORMATS


def decode_subtask(data: bytes) -> None:
    try:
        p = SubtaskPayload.decode(data)
    except PayloadError:
        return
    assert_valid_subtask(p)


@PROPERTY
@given(non_json_bytes)
def test_subtask_decode_refuses_bytes_that_are_not_json(data):
    """Arbitrary bytes, invalid UTF-8 and broken JSON: PayloadError, nothing else."""
    with pytest.raises(PayloadError):
        SubtaskPayload.decode(data)


@PROPERTY
@given(json_bytes)
@example(b"[]")
def test_subtask_decode_json_of_any_shape(data):
    """Lists, numbers, strings, null and objects of any shape: a valid SubtaskPayload or PayloadError."""
    decode_subtask(data)


@PROPERTY
@given(mutated(subtask_bodies).map(to_bytes))
@example(to_bytes({"v": 1, "question": "q", "plan": ["a"], "step_index": HUGE_INT}))
@example(to_bytes({"v": 1, "question": BIG_TEXT, "plan": [BIG_TEXT], "step_index": 0, "extra": BIG_TEXT}))
def test_subtask_decode_valid_payload_with_fields_dropped_replaced_or_added(data):
    """Missing, extra and wrongly typed fields (lists, objects, huge strings and numbers): valid value or PayloadError."""
    decode_subtask(data)


@PROPERTY
@given(non_finite_in_one_field(subtask_bodies, ["v", "step_index", "final"]).map(to_bytes))
@example(b'{"v": 1, "question": "q", "plan": ["a"], "step_index": Infinity}')
def test_subtask_decode_non_finite_numbers(data):
    decode_subtask(data)


@PROPERTY
@given(subtasks(), st.integers(64, 4096))
def test_subtask_round_trip_within_the_beacon_size_limit(p, max_bytes):
    """decode(encode(p)) == p when p fits; otherwise the oldest results are shortened (prefix + " …") to fit, and
    encode refuses only when even results cut to 16 characters cannot fit."""
    whole = p.encode(1 << 30)
    try:
        data = p.encode(max_bytes)
    except PayloadError:
        bare = SubtaskPayload(p.question, p.plan, p.step_index, tuple(StepResult(r.step, "") for r in p.previous),
                              p.final, p.answer_format).encode(1 << 30)
        assert len(bare) + 6 * 16 * len(p.previous) > max_bytes  # each kept result: <= 16 chars, <= 6 bytes each
        return
    assert len(data) <= max_bytes
    decoded = SubtaskPayload.decode(data)
    if len(whole) <= max_bytes:
        assert decoded == p
        return
    assert (decoded.question, decoded.plan, decoded.step_index, decoded.final, decoded.answer_format) == \
           (p.question, p.plan, p.step_index, p.final, p.answer_format)
    assert len(decoded.previous) == len(p.previous)
    for got, original in zip(decoded.previous, p.previous):
        assert got.step == original.step
        assert got.result == original.result or (got.result.endswith(" …") and original.result.startswith(got.result[:-2]))


results = st.builds(ResultPayload, output=st.text(max_size=400), answer=st.none() | st.text(max_size=30), abstained=st.booleans(),
                    tools_used=st.lists(st.text(max_size=12), max_size=3).map(tuple), tokens=st.integers(0, 10**12),
                    seconds=st.floats(0, 1e7, allow_nan=False, allow_infinity=False),
                    extra=st.dictionaries(st.text(max_size=10), ordinary_json, max_size=3))
result_bodies = results.map(lambda r: json.loads(r.encode(1 << 30)))


def decode_result(data: bytes) -> ResultPayload | None:
    try:
        r = ResultPayload.decode(data)
    except PayloadError:
        return None
    assert isinstance(r, ResultPayload)
    return r


def assert_well_typed_result(r: ResultPayload) -> None:
    assert isinstance(r.output, str) and (r.answer is None or isinstance(r.answer, str))
    assert isinstance(r.abstained, bool) and all(isinstance(t, str) for t in r.tools_used)
    assert isinstance(r.tokens, int) and isinstance(r.seconds, float) and isinstance(r.extra, dict)


@PROPERTY
@given(non_json_bytes | json_bytes)
def test_result_decode_garbage_bytes_and_json_of_any_shape(data):
    """Arbitrary bytes, invalid UTF-8, and JSON lists/numbers/objects: a ResultPayload or PayloadError."""
    decode_result(data)


@PROPERTY
@given(mutated(result_bodies, ordinary_json | st.just(BIG_TEXT) | st.just(HUGE_INT)).map(to_bytes))
def test_result_decode_valid_payload_with_fields_dropped_replaced_or_added(data):
    decode_result(data)


@PROPERTY
@given(non_finite_in_one_field(result_bodies, ["tokens", "seconds"]).map(to_bytes))
@example(b'{"output": "", "tokens": Infinity}')
def test_result_decode_non_finite_numbers(data):
    decode_result(data)


@PROPERTY
@given(mutated(result_bodies, ordinary_json).map(to_bytes))
@example(b'{"output": "", "answer": 5}')
def test_result_decode_gives_well_typed_fields(data):
    """A decoded result has the field types its class declares (answer: str | None, tools_used: str items)."""
    r = decode_result(data)
    if r is not None:
        assert_well_typed_result(r)


@PROPERTY
@given(results, st.integers(16, 4096))
def test_result_round_trip_and_size_limit(r, max_bytes):
    """decode(encode(r)) == r; under `max_bytes` only the output is shortened (prefix + " …"), until it fits or the
    output is under 32 characters."""
    assert ResultPayload.decode(r.encode(1 << 30)) == r
    data = r.encode(max_bytes)
    decoded = ResultPayload.decode(data)
    assert len(data) <= max_bytes or len(decoded.output) < 32
    assert decoded == ResultPayload(decoded.output, r.answer, r.abstained, r.tools_used, r.tokens, r.seconds, r.extra)
    assert decoded.output == r.output or (decoded.output.endswith(" …") and r.output.startswith(decoded.output[:-2]))


@PROPERTY
@given(non_json_bytes | json_bytes | mutated(result_bodies, ordinary_json).map(to_bytes))
@example(b'{"output": "", "answer": 5}')
def test_result_text_is_text(data):
    """What a later step sees of any earlier result on chain is a string."""
    assert isinstance(result_text(data), str)


@PROPERTY
@given(subtasks(), st.lists(non_json_bytes | json_bytes | mutated(result_bodies, ordinary_json).map(to_bytes), max_size=3),
       st.integers(64, 4096))
@example(SubtaskPayload("q" * 100, ("a", "b"), 0), [b'{"output": "x", "answer": 5}'], 150)
def test_step_payload_from_any_earlier_results(template, previous, max_bytes):
    """The payload step i runs on, rebuilt from the template and the (arbitrary) earlier results on chain: bytes
    within the limit, or PayloadError when it cannot fit."""
    steps = len(template.plan)
    for index in range(steps):
        try:
            data = step_payload(template.encode(1 << 30), index, steps, tuple(previous), max_bytes)
        except PayloadError:
            continue
        assert isinstance(data, bytes) and len(data) <= max_bytes


@PROPERTY
@given(non_json_bytes | st.dictionaries(st.text(max_size=10), ordinary_json, max_size=4).map(to_bytes), st.integers(0, 5), st.integers(1, 5))
def test_step_payload_passes_foreign_payloads_through(chain_payload, index, steps):
    """A chain payload that is not a SubtaskPayload (a detection request, garbage) is returned as it is."""
    try:
        SubtaskPayload.decode(chain_payload)
    except PayloadError:
        assert step_payload(chain_payload, index, steps, (), 8192) == chain_payload


# -- marl_detector/committee: Hide-and-Shill detection requests and verdicts -----------------------------------------

from web3 import Web3  # noqa: E402

from marl_detector.committee.request import KIND, DetectionRequest  # noqa: E402

addresses = st.binary(min_size=20, max_size=20).map(lambda b: Web3.to_checksum_address("0x" + b.hex()))
detection_requests = st.builds(DetectionRequest, addresses, addresses, st.text(max_size=12), st.integers(1, 2**64),
                               st.integers(1, 2**20).map(lambda h: 4 * h), st.integers(1, 2**32), st.integers(0, 2**64))
request_bodies = detection_requests.map(lambda r: json.loads(r.encode()))


def decode_request(data: bytes) -> None:
    try:
        r = DetectionRequest.decode(data)
    except PayloadError:
        return
    assert isinstance(r, DetectionRequest)
    assert Web3.is_checksum_address(r.evaluation_log) and Web3.is_checksum_address(r.pool) and isinstance(r.ticker, str)
    assert all(isinstance(v, int) for v in (r.t0, r.horizon, r.lookback, r.window_id))
    assert r.t0 > 0 and r.horizon > 0 and r.horizon % 4 == 0 and r.lookback > 0 and r.window_id >= 0


@PROPERTY
@given(non_json_bytes | json_bytes)
def test_detection_request_decode_garbage_and_json_of_any_shape(data):
    decode_request(data)


@PROPERTY
@given(mutated(request_bodies, ordinary_json | st.just(BIG_TEXT) | st.just(HUGE_INT)).map(to_bytes))
@example(to_bytes({"v": 2, "kind": KIND, "evaluation_log": 5, "pool": [1], "ticker": "x", "t0": 1, "horizon": 4,
                   "lookback": 1, "window_id": 0}))
def test_detection_request_decode_valid_request_with_fields_dropped_replaced_or_added(data):
    decode_request(data)


@PROPERTY
@given(non_finite_in_one_field(request_bodies, ["t0", "horizon", "lookback", "window_id"]).map(to_bytes))
@example(to_bytes({"v": 2, "kind": KIND, "evaluation_log": "0x" + "11" * 20, "pool": "0x" + "11" * 20, "ticker": "x",
                   "t0": math.inf, "horizon": 4, "lookback": 1, "window_id": 0}))
def test_detection_request_decode_non_finite_numbers(data):
    decode_request(data)


@PROPERTY
@given(detection_requests)
def test_detection_request_round_trip(r):
    assert DetectionRequest.decode(r.encode()) == r


@PROPERTY
@given(st.builds(lambda v, w: {"output": "", "extra": {"confidence_bp": v, "evaluation_id": w}}, any_json, any_json))
@example({"output": "", "extra": {"confidence_bp": "abc"}})
def test_detector_vote_reads_any_delivered_result(body):
    """The verdict side: what a detector delivered on chain (a result payload, or garbage the requester turns into
    an abstention) gives a vote whose confidence and evaluation id are int or None."""
    from marl_detector.committee.requester import DetectorVote

    raw = to_bytes(body)
    try:
        result = ResultPayload.decode(raw)
    except PayloadError:
        result = ResultPayload(output="unreadable result", abstained=True)
    vote = DetectorVote(0, [1], result=result)
    assert vote.confidence_bp is None or isinstance(vote.confidence_bp, int)
    assert vote.evaluation_id is None or isinstance(vote.evaluation_id, int)


# -- chain/: revert data from the RPC node, task ids from the command line ------------------------------------------

from eth_abi import encode as abi_encode  # noqa: E402

from chain.reverts import ContractRevert, ErrorSpec, PanicRevert, RevertWithReason, decode_revert  # noqa: E402

ERROR_STRING, PANIC = bytes.fromhex("08c379a0"), bytes.fromhex("4e487b71")
SPEC = ErrorSpec("InsufficientStake", ("agent", "minimum"), ("address", "uint256"), ("CapabilityLedger",))
SPEC_SELECTOR = bytes.fromhex("deadbeef")
REGISTRY = {SPEC_SELECTOR: SPEC}


@PROPERTY
@given(st.binary(max_size=200).filter(lambda b: b[:4] not in (ERROR_STRING, PANIC, SPEC_SELECTOR)))
def test_decode_revert_of_unknown_data_is_a_contract_revert(data):
    """Revert data without a known selector: a ContractRevert instance (returned, not raised)."""
    assert isinstance(decode_revert(data, registry=REGISTRY), ContractRevert)
    assert isinstance(decode_revert("0x" + data.hex(), registry=REGISTRY), ContractRevert)


@PROPERTY
@given(st.sampled_from([ERROR_STRING, PANIC, SPEC_SELECTOR]), st.binary(max_size=100))
@example(ERROR_STRING, b"\x01")
def test_decode_revert_of_a_known_selector_with_a_garbage_body(selector, body):
    assert isinstance(decode_revert(selector + body, registry=REGISTRY), ContractRevert)


@PROPERTY
@given(st.text(max_size=40))
@example("0xzz")
def test_decode_revert_of_any_text(data):
    assert isinstance(decode_revert(data, registry=REGISTRY), ContractRevert)


@PROPERTY
@given(st.text(max_size=200), st.integers(0, 2**256 - 1), st.binary(min_size=20, max_size=20), st.integers(0, 2**256 - 1))
def test_decode_revert_round_trip(reason, code, agent, minimum):
    """Error(string), Panic(uint256) and a custom error decode to their classes with the encoded arguments."""
    r = decode_revert(ERROR_STRING + abi_encode(["string"], [reason]), registry=REGISTRY)
    assert isinstance(r, RevertWithReason) and r.args_dict == {"reason": reason}
    p = decode_revert(PANIC + abi_encode(["uint256"], [code]), registry=REGISTRY)
    assert isinstance(p, PanicRevert) and p.args_dict == {"code": code}
    address = Web3.to_checksum_address("0x" + agent.hex())
    c = decode_revert(SPEC_SELECTOR + abi_encode(["address", "uint256"], [address, minimum]), contract="CapabilityLedger",
                      registry=REGISTRY)
    assert type(c).__name__ == "InsufficientStake" and c.args_dict == {"agent": address, "minimum": minimum}


from chain.task_view import parse_task_id  # noqa: E402


@PROPERTY
@given(st.text(max_size=80) | st.from_regex(r"\s*(0[xX][0-9a-fA-F_]{0,70}|-?[0-9_]{1,90})\s*", fullmatch=True))
def test_parse_task_id_of_any_text(text):
    """A task id as typed: 32 bytes for a number in 1..2**256-1, else ConfigError."""
    try:
        task_id = parse_task_id(text)
    except ConfigError:
        return
    assert isinstance(task_id, bytes) and len(task_id) == 32 and int.from_bytes(task_id, "big") > 0


@PROPERTY
@given(st.integers(1, 2**256 - 1))
def test_parse_task_id_round_trip(number):
    expected = number.to_bytes(32, "big")
    assert parse_task_id(str(number)) == expected
    assert parse_task_id("0x" + expected.hex()) == expected
    assert parse_task_id(f"  {hex(number).upper().replace('0X', '0x')} ") == expected


# -- echo_sync/: rollouts and control requests received over HTTP -----------------------------------------------------

from agents.llm.base import Constraint  # noqa: E402
from echo_sync.control import NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, ControlVerifier, signed_headers  # noqa: E402
from echo_sync.errors import ControlAuthError, NoSamplersLeft, UnknownPolicyVersion  # noqa: E402
from echo_sync.rollout import RolloutGroup, Sample, Turn  # noqa: E402

finite = st.floats(-1e6, 1e6, allow_nan=False)
constraints = st.none() | st.builds(Constraint, st.sampled_from(["json_schema", "regex", "lark"]), st.text(max_size=20), st.text(max_size=10))


@st.composite
def samples(draw: st.DrawFn) -> Sample:
    messages = tuple(draw(st.lists(st.fixed_dictionaries({"role": st.text(max_size=8), "content": st.text(max_size=40)}), max_size=3)))
    turns = []
    for _ in range(draw(st.integers(0, 2)) if messages else 0):
        tokens = tuple(draw(st.lists(st.integers(0, 2**31), max_size=5)))
        logprobs = tuple(draw(st.lists(finite, min_size=len(tokens), max_size=len(tokens)))) if draw(st.booleans()) else ()
        turns.append(Turn(draw(st.integers(1, len(messages))), tokens, logprobs, draw(constraints), draw(st.text(max_size=8))))
    return Sample(draw(st.text(max_size=60)), tuple(draw(st.lists(st.integers(0, 2**31), max_size=5))), draw(st.text(max_size=8)),
                  messages, tuple(turns))


rollout_groups = st.builds(RolloutGroup, st.integers(0, 10**6), st.integers(0, 10**6),
                           st.binary(min_size=32, max_size=32).map(bytes.hex), st.text(max_size=12),
                           st.lists(samples(), max_size=3).map(tuple), finite, finite)
group_bodies = rollout_groups.map(lambda g: json.loads(json.dumps(g.to_json())))


def parse_group(data: Any) -> None:
    try:
        g = RolloutGroup.from_json(data)
    except ValueError:  # RolloutGroup.from_json documents ValueError
        return
    assert isinstance(g, RolloutGroup) and all(isinstance(s, Sample) for s in g.samples)
    assert all(isinstance(t, int) for s in g.samples for t in s.token_ids)


@PROPERTY
@given(json_values(finite_scalars | st.just(math.nan)))
def test_rollout_group_from_json_of_any_shape(data):
    """What the trainer's POST /rollouts and a sampler's /generate answer parse: a RolloutGroup or ValueError."""
    parse_group(data)


@PROPERTY
@given(mutated(group_bodies, ordinary_json | st.just(BIG_TEXT)))
def test_rollout_group_from_json_valid_group_with_fields_dropped_replaced_or_added(data):
    parse_group(data)


@PROPERTY
@given(non_finite_in_one_field(group_bodies, ["task_index", "policy_version", "generated_at"], OVERFLOWING_VALUES))
@example({"task_index": math.inf, "policy_version": 1, "weights_sha256": "ab", "sampler_id": "s", "samples": []})
def test_rollout_group_from_json_non_finite_numbers(data):
    parse_group(data)


@PROPERTY
@given(rollout_groups)
def test_rollout_group_round_trip_through_json_text(g):
    assert RolloutGroup.from_json(json.loads(json.dumps(g.to_json()))) == g


SECRET = b"bad-input-properties-secret-0123"
header_text = st.text(max_size=40) | st.from_regex(r"-?[0-9]{1,400}", fullmatch=True) | st.text(
    st.characters(codec="latin-1"), max_size=20).map(lambda s: s.encode("latin-1").decode("utf-8", "surrogateescape"))


@PROPERTY
@given(st.sampled_from(["POST", "GET"]), st.text(max_size=20), st.binary(max_size=100), st.binary(max_size=100))
def test_control_signature_round_trip_and_tampering(method, path, body, other):
    """A request signed with the secret is accepted once; a replay, another body, another secret are refused."""
    verifier = ControlVerifier(SECRET)
    headers = signed_headers(SECRET, method, path, body)
    verifier.verify(method, path, headers, body)
    with pytest.raises(ControlAuthError):
        verifier.verify(method, path, headers, body)
    fresh = signed_headers(SECRET, method, path, body)
    if other != body:
        with pytest.raises(ControlAuthError):
            verifier.verify(method, path, fresh, other)
    with pytest.raises(ControlAuthError):
        ControlVerifier(SECRET[::-1]).verify(method, path, signed_headers(SECRET, method, path, body), body)


@PROPERTY
@given(st.dictionaries(st.sampled_from([TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER]), st.text(st.characters(codec="ascii"), max_size=40)),
       st.binary(max_size=50))
def test_control_verify_ascii_garbage_headers(headers, body):
    """Headers a client made up (plain ASCII, timestamps of ordinary length): ControlAuthError."""
    with pytest.raises(ControlAuthError):
        ControlVerifier(SECRET).verify("POST", "/generate", headers, body)


@PROPERTY
@given(st.fixed_dictionaries({TIMESTAMP_HEADER: header_text, NONCE_HEADER: header_text, SIGNATURE_HEADER: header_text}),
       st.binary(max_size=50))
@example({TIMESTAMP_HEADER: "9" * 400, NONCE_HEADER: "n", SIGNATURE_HEADER: "s"}, b"")
def test_control_verify_any_header_values(headers, body):
    """Whatever header values aiohttp hands over (it decodes header bytes as UTF-8 with surrogateescape): the
    request is authentic, or ControlAuthError."""
    try:
        ControlVerifier(SECRET).verify("POST", "/generate", headers, body)
    except ControlAuthError:
        pass


# The HTTP handlers parse inline (no pure function), so they are driven over HTTP on a free 127.0.0.1 port.

def http_post(url: str, data: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, data, {"Content-Type": "application/json", **(headers or {})}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture(scope="module")
def trainer_url():
    from core.http import BackgroundServer
    from echo_sync.replay_buffer import ReplayBuffer
    from echo_sync.task_stream import TaskStream
    from echo_sync.trainer_app import TrainerEndpoint

    # A publisher that published nothing (the routes under test only ask it for a version's hash).
    publisher = SimpleNamespace(current_version=None, sha_of=lambda version: None, is_revoked=lambda version: False)
    stream = TaskStream()
    buffer = ReplayBuffer(4, 1, publisher.sha_of, "requeue", stream.requeue)
    with BackgroundServer(TrainerEndpoint(publisher, buffer, stream).app()) as server:  # type: ignore[arg-type]
        yield server.url


@FEWER
@given(non_json_bytes | json_bytes | st.lists(any_json | mutated(group_bodies, ordinary_json), max_size=3).map(
    lambda groups: to_bytes({"groups": groups})))
def test_trainer_post_rollouts_with_garbage(trainer_url, data):
    """POST /rollouts: a bad body is 400; a list of bad groups is 200 with one verdict per group; never 500."""
    status, answer = http_post(f"{trainer_url}/rollouts", data)
    assert status in (200, 400), (status, answer[:300])
    if status == 200:
        body = json.loads(answer)
        assert len(body["results"]) == len(json.loads(data)["groups"])


@FEWER
@given(non_finite_in_one_field(group_bodies, ["task_index", "policy_version"]).map(lambda g: to_bytes({"groups": [g]})))
@example(b'{"groups": [{"task_index": Infinity, "policy_version": 1, "weights_sha256": "ab", "sampler_id": "s", "samples": []}]}')
def test_trainer_post_rollouts_with_non_finite_numbers(trainer_url, data):
    """Infinity and NaN are not JSON numbers: the whole body is refused with a 400 that says so; a huge integer is
    a JSON number, so its group gets a verdict (200). Never a 500."""
    status, answer = http_post(f"{trainer_url}/rollouts", data)
    assert status == 200 or (status == 400 and b"not a JSON number" in answer), (status, answer[:300])


@pytest.fixture(scope="module")
def sampler_url():
    from core.http import BackgroundServer
    from echo_sync.sampler_service import sampler_app

    def sync_to(version: int) -> None:
        raise UnknownPolicyVersion(f"version {version} was never published")  # a node that holds nothing

    node = SimpleNamespace(stats=SimpleNamespace(refused=[]), sync_to=sync_to, generate=lambda tasks: [])
    with BackgroundServer(sampler_app(node, ControlVerifier(SECRET, max_nonces=100))) as server:
        yield server.url


def signed_post(url: str, data: bytes) -> tuple[int, bytes]:
    return http_post(f"{url}/generate", data, signed_headers(SECRET, "POST", "/generate", data))


generate_bodies = st.fixed_dictionaries({"version": st.integers(0, 10**6), "tasks": st.lists(st.integers(0, 10**6), min_size=1, max_size=4)})


@FEWER
@given(non_json_bytes | json_bytes | mutated(generate_bodies, ordinary_json | st.just(BIG_TEXT)).map(to_bytes))
def test_sampler_generate_with_garbage_signed_bodies(sampler_url, data):
    """POST /generate, correctly signed, garbage body: 400 (or the node's own refusal, 404 here); never 500."""
    status, answer = signed_post(sampler_url, data)
    assert status in (400, 404), (status, answer[:300])


@FEWER
@given(non_finite_in_one_field(generate_bodies, ["version"]).map(to_bytes))
@example(b'{"version": Infinity, "tasks": [1]}')
def test_sampler_generate_with_non_finite_version(sampler_url, data):
    status, answer = signed_post(sampler_url, data)
    assert status in (400, 404), (status, answer[:300])


@FEWER
@given(st.dictionaries(st.sampled_from([TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER]),
                       st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e), max_size=30)), st.binary(max_size=50))
def test_sampler_generate_with_unsigned_or_forged_headers(sampler_url, headers, data):
    status, answer = http_post(f"{sampler_url}/generate", data, headers)
    assert status == 401, (status, answer[:300])


class _Response:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def read(self) -> bytes:
        return self.body

    def __enter__(self) -> "_Response":
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def next_batch_answered_with(body: bytes) -> list[RolloutGroup] | None:
    """SequentialSource.next_batch (the trainer's pull mode) with its one sampler answering `body`."""
    from echo_sync.sources import SequentialSource
    from echo_sync.task_stream import TaskStream

    source = SequentialSource(["http://127.0.0.1:9"], TaskStream())
    try:
        with mock.patch("urllib.request.urlopen", lambda req, timeout=None: _Response(body)), \
                contextlib.redirect_stdout(io.StringIO()):
            return source.next_batch(2, 1)
    except NoSamplersLeft:  # the only sampler answered garbage and was dropped
        return None
    finally:
        source.close()


@FEWER
@given(non_json_bytes)
def test_trainer_reads_a_sampler_answer_that_is_not_json(body):
    assert next_batch_answered_with(body) is None


@FEWER
@given(json_bytes | st.lists(any_json | mutated(group_bodies, ordinary_json), max_size=2).map(lambda g: to_bytes({"groups": g})))
@example(b"[]")
def test_trainer_reads_a_sampler_answer_of_any_shape(body):
    groups = next_batch_answered_with(body)
    assert groups is None or all(isinstance(g, RolloutGroup) for g in groups)


@FEWER
@given(st.lists(rollout_groups, min_size=1, max_size=2))
def test_trainer_reads_a_valid_sampler_answer(groups):
    groups = [RolloutGroup(i, 1, g.weights_sha256, g.sampler_id, g.samples, g.generated_at, g.generation_s) for i, g in enumerate(groups)]
    assert next_batch_answered_with(json.dumps({"groups": [g.to_json() for g in groups]}).encode()) == groups


# -- scheduler/: MCP tool results and error payloads ------------------------------------------------------------------

from scheduler.toolkit import error_payload  # noqa: E402
from scheduler.toolkit.error_payload import ToolErrorInfo  # noqa: E402

PREFIX = error_payload.PREFIX


def assert_tool_error(info: ToolErrorInfo) -> None:
    assert isinstance(info, ToolErrorInfo) and all(isinstance(v, str) for v in (info.kind, info.type, info.message))


@PROPERTY
@given(st.text(max_size=200).filter(lambda t: PREFIX.strip() not in t))
def test_error_payload_decode_of_foreign_text(text):
    """Error text from another MCP server is a permanent ToolError carrying the whole text."""
    assert error_payload.decode(text) == ToolErrorInfo("permanent", "ToolError", text.strip())


@PROPERTY
@given(st.text(max_size=20), non_json_bytes.map(lambda b: b.decode(errors="replace")) | any_json.map(to_json))
@example("", "[]")
def test_error_payload_decode_of_garbage_after_the_prefix(before, after):
    assert_tool_error(error_payload.decode(before + PREFIX + after))


@PROPERTY
@given(st.dictionaries(st.sampled_from(["kind", "type", "message"]), ordinary_json))
@example({"kind": "x"})
def test_error_payload_decoded_kind_is_transient_or_permanent(body):
    info = error_payload.decode(PREFIX + json.dumps(body))
    assert info.kind in ("transient", "permanent")


@PROPERTY
@given(st.sampled_from(["transient", "permanent"]), st.text(max_size=30), st.text(max_size=300))
def test_error_payload_round_trip(kind, type_name, message):
    assert error_payload.decode(error_payload.encode(kind, type_name, message)) == ToolErrorInfo(kind, type_name, message)


def tool_results(text: st.SearchStrategy[str]) -> st.SearchStrategy:
    blocks = st.lists(st.one_of(text.map(lambda t: SimpleNamespace(text=t)), st.just(SimpleNamespace(data=b"img"))), max_size=3)
    return st.builds(lambda is_error, content, structured: SimpleNamespace(is_error=is_error, content=content, structured_content=structured),
                     st.booleans(), blocks, st.none() | st.dictionaries(st.text(max_size=8), ordinary_json, max_size=3))


class _StubClient:
    def __init__(self, result: Any) -> None:
        self.result = result

    async def call_tool(self, tool: str, arguments: dict, progress_callback: Any = None) -> Any:
        return self.result

    async def __aexit__(self, *exc: object) -> None:
        return None


def call_returning(result: Any):
    from scheduler.client.connection import AgentConnection

    connection = AgentConnection("stub", "http://127.0.0.1:9")
    connection._client = _StubClient(result)
    outcome = asyncio.run(connection.call("c1", "tool", {}, timeout_s=10))
    assert outcome.ok == (not result.is_error)
    if not outcome.ok:
        assert all(isinstance(v, str) for v in (outcome.error_kind, outcome.error_type, outcome.error))
    return outcome


@FEWER
@given(tool_results(st.text(max_size=100).filter(lambda t: PREFIX.strip() not in t)
                    | st.builds(error_payload.encode, st.sampled_from(["transient", "permanent"]), st.text(max_size=10), st.text(max_size=50))))
def test_agent_connection_turns_any_tool_result_into_an_outcome(result):
    """AgentConnection.call with whatever result an MCP server sends: a CallOutcome, ok or with the typed error."""
    call_returning(result)


@FEWER
@given(tool_results(any_json.map(lambda v: PREFIX + to_json(v))))
@example(SimpleNamespace(is_error=True, content=[SimpleNamespace(text=PREFIX + "[]")], structured_content=None))
def test_agent_connection_with_a_garbage_error_payload(result):
    call_returning(result)


@FEWER
@given(st.dictionaries(st.text(max_size=6).filter(lambda k: k != "ctx"), ordinary_json, max_size=3) | st.just({"x": 1}), ordinary_json)
def test_typed_tool_garbage_arguments_and_results_become_the_typed_error(arguments, returned):
    """A tool whose arguments or result do not match its models: ValidationError from run(), and on the MCP side a
    ToolError whose text decodes to a permanent InvalidArguments error, never a crash."""
    from mcp.server.mcpserver.exceptions import ToolError
    from pydantic import ValidationError

    from scheduler.toolkit.typed_tool import TypedTool, describe_exception, mcp_function

    class In(BaseModel):
        x: int

    class Out(BaseModel):
        y: str

    async def impl(data: In, progress: Any) -> Any:
        return returned

    tool = TypedTool("t", "a tool", In, Out, impl)
    try:
        out = asyncio.run(tool.run(arguments))
        assert isinstance(out, Out)
    except ValidationError as exc:
        info = error_payload.decode(describe_exception(exc))
        assert (info.kind, info.type) == ("permanent", "InvalidArguments")
    fn = mcp_function(tool)
    try:
        assert isinstance(asyncio.run(fn(ctx=None, **arguments)), Out)
    except ToolError as exc:
        info = error_payload.decode(str(exc))
        assert_tool_error(info)
        assert info.kind == "permanent"


@FEWER
@given(st.sampled_from(["transient", "permanent"]), st.text(max_size=100))
def test_tool_failures_round_trip_through_the_error_payload(kind, message):
    from scheduler.toolkit.typed_tool import describe_exception
    from tools.errors import PermanentToolError, TransientToolError

    exc = (TransientToolError if kind == "transient" else PermanentToolError)(message)
    assert error_payload.decode(describe_exception(exc)) == ToolErrorInfo(kind, type(exc).__name__, str(exc))


# -- LLM output read as data (planner steps, tool calls, plans) -------------------------------------------------------

from pydantic import BaseModel  # noqa: E402

from agents.llm.base import Completion  # noqa: E402
from agents.llm.structured import Structured, find_json_object, parse  # noqa: E402
from agents.planner import MAX_STEPS, MIN_STEPS, PlanDraft, parse_plan  # noqa: E402
from agents.tool_use.base import AgentTool, ParsedCall, ToolResult, parse_call  # noqa: E402
from scheduler.planning.step import PlanStep, step_from_json  # noqa: E402

llm_text = st.text(max_size=300) | ordinary_json.map(to_json) | st.tuples(st.text(max_size=20), ordinary_json, st.text(max_size=20)).map(
    lambda t: f"{t[0]}```json\n{to_json(t[1])}\n```{t[2]}")


@PROPERTY
@given(llm_text, st.sampled_from(["stop", "length"]))
def test_structured_parse_of_any_completion(text, finish_reason):
    s = parse(PlanDraft, Completion(text, 0, 0, finish_reason=finish_reason))
    assert isinstance(s, Structured) and (s.value is None) != (s.error is None)
    assert s.value is None or isinstance(s.value, PlanDraft)


@PROPERTY
@given(llm_text)
def test_find_json_object_and_step_from_json(text):
    """The ReAct planner reads free text: a dict or ValueError, then a PlanStep or ValueError."""
    try:
        data = find_json_object(text)
    except ValueError:
        return
    assert isinstance(data, dict)
    try:
        step = step_from_json(data, "s1a")
    except ValueError:
        return
    assert isinstance(step, PlanStep) and (step.actions or step.final_answer is not None)


@PROPERTY
@given(ordinary_json | mutated(st.just({"thought": "t", "actions": [{"tool": "python", "args": {"code": "1"}, "mode": "sync"}],
                                          "final_answer": "4"}), ordinary_json))
def test_step_from_json_of_any_value(data):
    try:
        step = step_from_json(data, "s1a")
    except ValueError:
        return
    assert isinstance(step, PlanStep) and all(isinstance(a.tool, str) and isinstance(a.args, dict) for a in step.actions)


@PROPERTY
@given(st.text(max_size=400) | st.lists(st.tuples(st.integers(0, 12), st.text(max_size=30)), max_size=10).map(
    lambda rows: "\n".join(f"{n}. {t}" for n, t in rows)))
def test_parse_plan_of_any_text(text):
    plan = parse_plan(text)
    assert plan is None or (MIN_STEPS <= len(plan) <= MAX_STEPS and all(isinstance(s, str) and s for s in plan))


class _EchoInput(BaseModel):
    text: str
    times: int = 1


class _Echo(AgentTool):
    name, description, input_model = "echo", "repeat a text", _EchoInput

    def run(self, arguments: Any) -> ToolResult:
        return ToolResult(arguments.text * arguments.times)


def check_call(text: str) -> None:
    call = parse_call(text, [_Echo()])
    assert isinstance(call, ParsedCall)
    assert (call.arguments is None) == (call.error is not None)


@PROPERTY
@given(st.text(max_size=200).filter(lambda t: not parses_as_json(t.encode()))
       | mutated(st.just({"tool": "echo", "arguments": {"text": "a", "times": 2}}), st.text(max_size=10) | st.integers() | st.none()).map(to_json))
def test_parse_call_of_text_and_calls_with_bad_fields(text):
    """A model's tool call: a ParsedCall (with the tool and arguments, or the reason it cannot run)."""
    check_call(text)


@PROPERTY
@given(any_json.map(to_json) | mutated(st.just({"tool": "echo", "arguments": {"text": "a"}}), any_json).map(to_json))
@example('{"tool": []}')
def test_parse_call_of_json_of_any_shape(text):
    check_call(text)


# -- deep nesting: RecursionError, and the C stack under web3's recursion limit ---------------------------------------

@contextlib.contextmanager
def default_recursion_limit():
    """The interpreter's default limit (web3's py_ecc raises it to 100000 on import; a process without web3 keeps 1000)."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def _deep_config(folder: Path) -> None:
    from symphony.config import load_config

    load_config(write(folder, "deep.json", deep().decode()))


def _deep_feed(folder: Path) -> None:
    from marl_detector.onchain.posts import PostFeed

    feed = PostFeed(write(folder, "feed.jsonl", deep() + b"\n"))
    assert feed.poll() == 0 and len(feed.take_rejected()) == 1


@pytest.mark.parametrize("decode, errors", [
    pytest.param(lambda f: SubtaskPayload.decode(deep()), PayloadError, id="SubtaskPayload"),
    pytest.param(lambda f: ResultPayload.decode(deep()), PayloadError, id="ResultPayload"),
    pytest.param(lambda f: DetectionRequest.decode(deep()), PayloadError, id="DetectionRequest"),
    pytest.param(lambda f: error_payload.decode(PREFIX + deep().decode()), (), id="error_payload"),
    pytest.param(lambda f: parse_call(deep().decode(), [_Echo()]), (), id="parse_call"),
    pytest.param(lambda f: find_json_object(deep().decode()), ValueError, id="find_json_object"),
    pytest.param(lambda f: parse(PlanDraft, Completion(deep().decode(), 0, 0)), (), id="structured.parse"),
    pytest.param(_deep_config, ConfigError, id="load_config"),
    pytest.param(_deep_feed, (), id="PostFeed.poll"),
])
def test_deeply_nested_json_gives_the_documented_error(decode, errors, tmp_path):
    with default_recursion_limit():
        try:
            decode(tmp_path)
        except errors:
            pass


def test_max_size_nested_payload_does_not_crash_a_worker_thread():
    """ChainSettings.max_payload_bytes admits 65536-byte payloads; an agent decodes them in its event thread."""
    code = ("import threading, web3\n"
            "from agents.payloads import SubtaskPayload, PayloadError\n"
            "def decode():\n"
            "    try:\n"
            "        SubtaskPayload.decode(b'[' * 65536)\n"
            "    except (PayloadError, RecursionError):\n"
            "        print('refused')\n"
            "threading.stack_size(8 << 20)  # Linux's default thread stack (ulimit -s 8192), so the result does not depend on it\n"
            "t = threading.Thread(target=decode); t.start(); t.join()\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "refused" in run.stdout, (run.returncode, run.stderr[-500:])


# -- marl_detector/onchain/posts.py: the social feed file another process appends to ---------------------------------

from marl_detector.observation import AccountInfo, PostRecord  # noqa: E402
from marl_detector.onchain.posts import FeedPost, PostFeed, append_posts  # noqa: E402

posts = st.fixed_dictionaries(
    {"timestamp": st.integers(0, 2**40), "ticker": st.text(min_size=1, max_size=8), "author": st.text(max_size=10), "text": st.text(max_size=60)},
    optional={"age_days": st.floats(0, 1e4), "followers": st.integers(0, 10**9), "following": st.integers(0, 10**9),
              "follows": st.lists(st.text(max_size=8), max_size=3)})


def poll_lines(lines: list[bytes]) -> tuple[int, list[str]]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "feed.jsonl"
        path.write_bytes(b"".join(line.replace(b"\n", b" ") + b"\n" for line in lines))
        feed = PostFeed(path)
        added = feed.poll()
        rejected = feed.take_rejected()
        assert added + len(rejected) == sum(1 for line in lines if line.replace(b"\n", b" ").strip())
        return added, rejected


@FEWER
@given(st.lists(non_json_bytes | json_bytes | mutated(posts, ordinary_json | st.just(BIG_TEXT)).map(to_bytes), max_size=5))
def test_post_feed_skips_and_names_every_bad_line(lines):
    """A malformed line is skipped and named, never fatal (the module's documented contract)."""
    poll_lines(lines)


@FEWER
@given(st.lists(non_finite_in_one_field(posts, ["timestamp", "age_days", "followers"]).map(to_bytes) | st.just(HUGE_INT.encode()),
                min_size=1, max_size=3))
@example([b'{"timestamp": Infinity, "ticker": "T", "author": "a", "text": ""}'])
def test_post_feed_lines_with_non_finite_or_huge_numbers(lines):
    poll_lines(lines)


@FEWER
@given(st.lists(posts, min_size=1, max_size=4))
def test_post_feed_round_trip(batch):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "feed.jsonl"
        append_posts(path, batch)
        feed = PostFeed(path)
        assert feed.poll() == len(batch) and not feed.take_rejected()
        for p in batch:
            expected = FeedPost(p["ticker"], PostRecord(p["timestamp"], p["author"], p["text"]),
                                AccountInfo(p["author"], float(p.get("age_days", 365.0)), p.get("followers", 0), p.get("following", 0)),
                                tuple(p.get("follows", ())))
            assert expected in feed.posts[p["ticker"]]


# -- agents/llm/adapter_file.py: a policy version file downloaded from the trainer -----------------------------------

@FEWER
@given(st.binary(max_size=200) | st.tuples(st.integers(0, 300), st.binary(max_size=300)).map(lambda t: t[0].to_bytes(8, "little") + t[1])
       | st.tuples(ordinary_json, st.binary(max_size=40)).map(lambda t: len(to_bytes(t[0])).to_bytes(8, "little") + to_bytes(t[0]) + t[1]))
def test_read_adapter_of_garbage_bytes(data):
    from agents.llm.adapter_file import AdapterError, read_adapter

    with pytest.raises(AdapterError):
        read_adapter(data)


@FEWER
@given(st.lists(st.integers(1, 4), min_size=1, max_size=2), st.integers(1, 64), st.text(max_size=64),
       st.dictionaries(st.text(max_size=6), ordinary_json, max_size=2))
def test_read_adapter_round_trip(shape, rank, base, extra):
    import torch
    from safetensors.torch import save

    from agents.llm.adapter_file import META_BASE, META_CONFIG, read_adapter

    config = {**extra, "r": rank, "lora_alpha": 2 * rank, "target_modules": ["q_proj"]}
    tensors = {"lora_A": torch.arange(math.prod(shape), dtype=torch.float32).reshape(shape)}
    adapter = read_adapter(save(tensors, metadata={META_CONFIG: json.dumps(config), META_BASE: base}))
    assert adapter.config == config and adapter.base_sha256 == base and torch.equal(adapter.tensors["lora_A"], tensors["lora_A"])


# -- files named on the command line: deployment manifest, scheduler plan and task files ------------------------------

file_contents = st.text(max_size=300) | st.binary(max_size=300) | ordinary_json.map(to_json)


@FEWER
@given(file_contents | mutated(st.just({"chain_id": 31337, "rpc_url": "http://127.0.0.1:8545", "deployer": "0x" + "11" * 20,
                                        "deploy_block": 0, "contracts": {}, "parameters": {"max_payload_bytes": 8192}})).map(to_json))
def test_manifest_load_of_any_file(content):
    from chain.deploy import Manifest

    with tempfile.TemporaryDirectory() as folder:
        try:
            manifest = Manifest.load(write(Path(folder), "deployment.json", content))
        except ConfigError:
            return
        assert isinstance(manifest, Manifest)


def load_plan(content: str | bytes) -> None:
    from scheduler.errors import SchedulerError
    from symphony.cli.scheduler_cmd import _load_plan

    with tempfile.TemporaryDirectory() as folder:
        try:
            plan = _load_plan(write(Path(folder), "plan.json", content))
        except SchedulerError:
            return
        assert isinstance(plan, list) and plan


def load_task_file(content: str | bytes) -> None:
    from scheduler.errors import SchedulerError
    from scheduler.evaluation.tasks import EvalTask, load_tasks

    with tempfile.TemporaryDirectory() as folder:
        try:
            tasks = load_tasks(write(Path(folder), "tasks.jsonl", content))
        except SchedulerError:
            return
        assert all(isinstance(t, EvalTask) for t in tasks)


@FEWER
@given(st.text(max_size=300) | ordinary_json.map(to_json))
def test_scheduler_plan_and_task_files_of_any_text(content):
    """`symphony scheduler run --plan FILE` and the evaluation task file: a value or SchedulerError."""
    load_plan(content)
    load_task_file(content)


@FEWER
@given(st.binary(max_size=200) | st.just(str(HUGE_INT)))
@example(b"\xff")
def test_scheduler_plan_and_task_files_of_bytes_and_huge_numbers(content):
    load_plan(content)
    load_task_file(content)


# -- symphony/config.py: configuration files and SYMPHONY_* variables -------------------------------------------------

from symphony.cli.options import _model_of, csv, int_csv  # noqa: E402
from symphony.config import SECTIONS, SymphonyConfig, load_config  # noqa: E402


def _is_scalar(annotation: Any) -> bool:
    args = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) else (annotation,)
    return all(a is type(None) or a in (int, float, str, bool, Path) or typing.get_origin(a) is Literal for a in args)


SCALAR_FIELDS = sorted((s, f) for s in SECTIONS for f, info in _model_of(SymphonyConfig.model_fields[s].annotation).model_fields.items()
                       if _is_scalar(info.annotation))
COMPLEX_FIELDS = sorted((s, f) for s in SECTIONS for f, info in _model_of(SymphonyConfig.model_fields[s].annotation).model_fields.items()
                        if not _is_scalar(info.annotation))
field_names = st.sampled_from(SCALAR_FIELDS + COMPLEX_FIELDS)


@contextlib.contextmanager
def symphony_environment(values: dict[str, str] | None = None, state_dir: Path | None = None):
    """os.environ without the caller's SYMPHONY_* variables, plus `values`; restored afterwards."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SYMPHONY_")}
    if state_dir is not None:
        clean["SYMPHONY_STATE_DIR"] = str(state_dir)
    with mock.patch.dict(os.environ, {**clean, **(values or {})}, clear=True):
        yield


def load(path: Path | None) -> SymphonyConfig | None:
    try:
        cfg = load_config(path)
    except ConfigError:
        return None
    assert isinstance(cfg, SymphonyConfig)
    return cfg


@FEWER
@given(st.text(max_size=300) | st.binary(max_size=300), st.sampled_from(["c.json", "c.toml", "config"]))
def test_config_file_of_garbage_text_and_bytes(content, name):
    with tempfile.TemporaryDirectory() as folder, symphony_environment():
        load(write(Path(folder), name, content))


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, (int, str)):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    return '""'  # TOML has no null


# Keys without line breaks, at every depth: a key with one is test_cli_config_error_for_a_key_with_a_line_break.
one_line_keys = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=8)
one_line_json = json_values(finite_scalars, one_line_keys)
config_documents = st.dictionaries(st.sampled_from(SECTIONS) | one_line_keys, st.dictionaries(
    st.sampled_from(sorted({f for _, f in SCALAR_FIELDS + COMPLEX_FIELDS})) | one_line_keys, one_line_json, max_size=3)
    | one_line_json, max_size=3)


@FEWER
@given(config_documents, st.booleans())
def test_config_file_of_the_wrong_shape(document, as_toml):
    """Sections and fields that exist, with values of any type, in JSON or TOML: a config or ConfigError."""
    if as_toml:
        body = "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in document.items())
    else:
        body = to_json(document)
    with tempfile.TemporaryDirectory() as folder, symphony_environment():
        load(write(Path(folder), "c.toml" if as_toml else "c.json", body))


@FEWER
@given(field_names, st.booleans())
@example(("chain", "chain_id"), False)
def test_config_file_with_a_huge_integer(field, as_toml):
    section, name = field
    body = f"[{section}]\n{name} = {HUGE_INT}\n" if as_toml else f'{{"{section}": {{"{name}": {HUGE_INT}}}}}'
    with tempfile.TemporaryDirectory() as folder, symphony_environment():
        load(write(Path(folder), "c.toml" if as_toml else "c.json", body))


@FEWER
@given(st.sampled_from(["_env_prefix", "_env_file", "_secrets_dir", "_case_sensitive", "_env_nested_delimiter", "_env_parse_none_str"]),
       ordinary_json)
@example("_env_prefix", 5)
def test_config_file_with_settings_init_keys(key, value):
    with tempfile.TemporaryDirectory() as folder, symphony_environment():
        cfg = load(write(Path(folder), "c.json", to_json({key: value})))
        assert cfg is None, f"{key} = {value!r} was accepted as a configuration option"


env_values = st.text(max_size=60).filter(lambda t: "\x00" not in t) | ordinary_json.map(to_json)


@FEWER
@given(st.dictionaries(st.sampled_from(SCALAR_FIELDS).map(lambda f: f"SYMPHONY_{f[0].upper()}__{f[1].upper()}"), env_values, max_size=3))
def test_config_from_garbage_scalar_environment_variables(values):
    with symphony_environment(values):
        load(None)


@FEWER
@given(st.dictionaries(st.sampled_from([f"SYMPHONY_{s.upper()}" for s in SECTIONS]
                                       + [f"SYMPHONY_{s.upper()}__{f.upper()}" for s, f in COMPLEX_FIELDS]), env_values, min_size=1, max_size=3))
@example({"SYMPHONY_CHAIN": "notjson"})
def test_config_from_garbage_section_environment_variables(values):
    with symphony_environment(values):
        load(None)


@PROPERTY
@given(st.text(max_size=60))
def test_csv_and_int_csv_option_types(text):
    import argparse

    assert all(isinstance(p, str) and p and p == p.strip() for p in csv(text))
    try:
        assert all(isinstance(n, int) for n in int_csv(text))
    except argparse.ArgumentTypeError:
        pass


@PROPERTY
@given(st.text(max_size=60) | st.from_regex(r"[A-Za-z0-9_-]{1,8}=https?://[a-z0-9.:/]{1,20}(@[0-9]{1,3})?", fullmatch=True))
def test_parse_agent_spec_of_any_text(spec):
    from scheduler.assembly import parse_agent_spec
    from scheduler.errors import SchedulerError

    try:
        name, url, capacity = parse_agent_spec(spec)
    except SchedulerError:
        return
    assert isinstance(name, str) and url.startswith("http") and isinstance(capacity, int)
    assert parse_agent_spec(f"{name}={url}@{capacity}") == (name, url, capacity)


# -- the `symphony` CLI: garbage files, variables and arguments give one line on stderr -------------------------------

def cli_in_process(argv: list[str]) -> tuple[int, str, str]:
    """symphony.cli.main.main(argv) with stdout/stderr captured; any exception but SystemExit propagates (= traceback)."""
    from symphony.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def assert_one_error_line(code: int, stderr: str) -> None:
    assert code != 0
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("symphony: error: ") and "Traceback" not in stderr, stderr[-1000:]


cli_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=40)


@settings(max_examples=25, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=300) | config_documents.map(to_json), st.sampled_from(["c.json", "c.toml"]))
def test_cli_config_show_with_a_garbage_file(content, name):
    with tempfile.TemporaryDirectory() as folder, symphony_environment(state_dir=Path(folder) / "state"):
        path = write(Path(folder), name, content)
        code, _, stderr = cli_in_process(["--config", str(path), "config", "show"])
        if code == 0:
            assert load(path) is not None
        else:
            assert_one_error_line(code, stderr)


@FEWER
@given(st.dictionaries(st.text(st.sampled_from("a_\r\n\x0b\x0c\x1c\x85\u2028"), min_size=1, max_size=4), ordinary_json,
                       min_size=1, max_size=2))
@example({"\r": {}})
def test_cli_config_error_for_a_key_with_a_line_break(document):
    with tempfile.TemporaryDirectory() as folder, symphony_environment(state_dir=Path(folder) / "state"):
        path = write(Path(folder), "c.json", to_json(document))
        assert_one_error_line(*cli_in_process(["--config", str(path), "config", "show"])[::2])


@settings(max_examples=12, deadline=None)
@given(cli_text, st.integers(-10**6, 10**6), cli_text)
def test_cli_task_show_and_ask_with_garbage_arguments(task_id, chains, question):
    """Without a deployment (empty state folder) every such command fails with one line, whatever the arguments."""
    with tempfile.TemporaryDirectory() as folder, symphony_environment(state_dir=Path(folder)):
        assert_one_error_line(*cli_in_process(["task", "show", "--", task_id])[::2])
        assert_one_error_line(*cli_in_process(["ask", "--chains", str(chains), "--", question])[::2])


@FEWER
@given(st.sampled_from([f"SYMPHONY_{s.upper()}" for s in SECTIONS]), env_values)
@example("SYMPHONY_CHAIN", "notjson")
def test_cli_config_show_with_a_garbage_section_variable(variable, value):
    with tempfile.TemporaryDirectory() as folder, symphony_environment({variable: value}, state_dir=Path(folder)):
        code, _, stderr = cli_in_process(["config", "show"])
        if code != 0:
            assert_one_error_line(code, stderr)


def cli_process(argv: list[str], folder: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYMPHONY_")}
    env["SYMPHONY_STATE_DIR"] = str(folder / "state")
    return subprocess.run([sys.executable, "-m", "symphony.cli.main", *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


@PROCESSES
@given(st.one_of(st.binary(min_size=1, max_size=200), config_documents.filter(bool).map(to_json)), st.sampled_from(["c.json", "c.toml"]))
def test_cli_process_config_show_with_a_garbage_file(content, name):
    """The real console entry point, as a user runs it: a non-zero exit, one line on stderr, no traceback."""
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder), name, content)
        run = cli_process(["--config", str(path), "config", "show"], Path(folder))
        with symphony_environment():
            valid = load(path) is not None
        if not valid:
            assert_one_error_line(run.returncode, run.stderr)


@PROCESSES
@given(cli_text, st.integers(17, 10**6) | st.integers(-10**6, 0))
def test_cli_process_task_show_and_ask_with_garbage_arguments(text, chains):
    with tempfile.TemporaryDirectory() as folder:
        run = cli_process(["task", "show", "--", text], Path(folder))
        assert_one_error_line(run.returncode, run.stderr)
        run = cli_process(["ask", "--chains", str(chains), "--", text], Path(folder))
        assert_one_error_line(run.returncode, run.stderr)
