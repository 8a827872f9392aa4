"""Small builders shared by the chain tests (vectors, registration, time travel, reading a command's output)."""

from __future__ import annotations

import random
import time
from typing import IO

from chain import vectors

STAKE = 10**16


def vector(seed: int) -> bytes:
    rng = random.Random(seed)
    return vectors.pack([rng.randint(-127, 127) for _ in range(vectors.DIMENSIONS)])


def near(base: bytes, noise: int, seed: int) -> bytes:
    """A vector close to `base` (small random perturbation): a high match score."""
    rng = random.Random(seed)
    return vectors.pack([max(-127, min(127, c + rng.randint(-noise, noise))) for c in vectors.unpack(base)])


def register(contracts, name: str, capability: bytes, capacity: int = 2) -> None:
    contracts.ledger.register(name, "tiny-test-model", f"http://127.0.0.1/{name}", ["reasoning", name], capability, capacity, STAKE)


def bids_by(contracts, beacon_id: int, agent: str) -> list:
    """The `BidPlaced` logs of `agent` on `beacon_id`."""
    events = contracts.beacon.contract.events.BidPlaced().get_logs(from_block=0, argument_filters={"beaconId": beacon_id})
    return [e for e in events if e["args"]["agent"] == agent]


def wait_until(condition, timeout: float, what: str) -> None:  # noqa: ANN001 - a predicate
    """Poll `condition` every 0.2 s; AssertionError naming `what` if it is not true within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def read_until(stream: IO[str], marker: str, timeout: float) -> str:
    """Lines of a running command's output up to the one holding `marker` (AssertionError with what came if none)."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            return "".join(lines)
    raise AssertionError(f"no {marker!r} within {timeout:.0f} s:\n{''.join(lines)}")
