"""The detection request a beacon carries, and the two answers a detector can vote for.

Why its own payload kind: a beacon payload is the whole interface between a requester and whoever takes the
job, and a reasoning agent must be able to tell at a glance that a detection request is not a chain-of-thought
step (it then does not bid). The request names the market (its EvaluationLog), the window the requester opened
on it (`window_id`: pool, start `t0`, horizon — the detector commits its own prediction to that window, before
`t0`, and may only use data from before its commit) and the lookback it may use. Format 2 (protocol v2) added
the window; format-1 requests are refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from eth_utils import keccak
from web3 import Web3

from agents.payloads import PayloadError
from core.untrusted_json import loads

KIND = "hideshill.detect"
# The evidence kind of detection work on the CapabilityLedger: detection beacons carry it explicitly, and
# EvaluationLog records resolved entries under it, so a detector's bid score rests on both records.
DETECTION_KIND = keccak(b"hideshill-detection")
FORMAT_VERSION = 2
MANIPULATION = "manipulation"
ORGANIC = "organic"
ANSWERS = (ORGANIC, MANIPULATION)  # index = the EvaluationLog label

# What a detection beacon requires; its embedding is the beacon's requirement vector, so agents whose declared
# capability is close to it score high (and bid), agents with other strengths score low.
REQUIREMENT = ("Detect pump-and-dump manipulation and shilling campaigns on a DeFi token pool from on-chain trades, "
               "the social graph of the accounts posting about it, and the text of their posts.")


def answer_of(label: int) -> str:
    return ANSWERS[int(label)]


def label_of(answer: str) -> int | None:
    """0/1 for a detector's answer, None for anything else (an abstention or a foreign answer)."""
    return ANSWERS.index(answer) if answer in ANSWERS else None


@dataclass(frozen=True)
class DetectionRequest:
    evaluation_log: str
    pool: str
    ticker: str
    t0: int
    horizon: int
    lookback: int
    window_id: int

    def encode(self) -> bytes:
        return json.dumps({"v": FORMAT_VERSION, "kind": KIND, "evaluation_log": self.evaluation_log, "pool": self.pool,
                           "ticker": self.ticker, "t0": self.t0, "horizon": self.horizon, "lookback": self.lookback,
                           "window_id": self.window_id}).encode()

    @classmethod
    def decode(cls, data: bytes) -> "DetectionRequest":
        body = loads(data, PayloadError, "malformed detection request")
        try:
            if not isinstance(body, dict) or body.get("kind") != KIND:
                raise PayloadError("not a detection request")
            if body.get("v") != FORMAT_VERSION:
                raise PayloadError(f"unsupported detection request version {body.get('v')!r}")
            request = cls(Web3.to_checksum_address(body["evaluation_log"]), Web3.to_checksum_address(body["pool"]),
                          str(body["ticker"]), int(body["t0"]), int(body["horizon"]), int(body["lookback"]),
                          int(body["window_id"]))
        except PayloadError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise PayloadError(f"malformed detection request: {exc}") from None
        if request.horizon <= 0 or request.horizon % 4 or request.lookback <= 0 or request.t0 <= 0 or request.window_id < 0:
            raise PayloadError(f"detection request with invalid times: t0={request.t0} horizon={request.horizon} "
                               f"lookback={request.lookback} window={request.window_id}")
        return request
