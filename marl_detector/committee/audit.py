"""Check committee entries of the EvaluationLog against the Symphony vote they claim to log.

A committee entry is one whose `modelHash` is a TaskBeacon task id owned by the entry's detector (the
requester). For those, the log entry must say what the vote said: the vote is finalized, the revealed label is
the vote's winning answer, and the task's beacons asked about the entry's own window (same window id, pool,
start and horizon). Everything is read from the chain; nothing is taken from the requester.
"""

from __future__ import annotations

from chain.bindings import SymphonyContracts
from chain.bindings.vote import VotePhase
from marl_detector.committee.request import DetectionRequest, label_of
from agents.payloads import PayloadError
from marl_detector.onchain.evaluation import Evaluation, Status

ZERO = "0x" + "00" * 20


def is_committee_entry(e: Evaluation, contracts: SymphonyContracts) -> bool:
    requester = contracts.beacon.task_requester(bytes.fromhex(e.model_hash[2:]))
    return requester != ZERO and requester.lower() == e.detector.lower()


def audit_entry(e: Evaluation, contracts: SymphonyContracts) -> list[str]:
    """Problems with one committee entry (empty: it logs its vote faithfully)."""
    task_id = bytes.fromhex(e.model_hash[2:])
    bad: list[str] = []
    vote = contracts.vote.get(task_id)
    if vote.phase != VotePhase.FINALIZED:
        return [f"committee entry of task {e.model_hash}: the vote is not finalized ({vote.phase.name})"]
    if e.status in (Status.REVEALED, Status.RESOLVED) and label_of(vote.winning_answer) != e.predicted:
        bad.append(f"committee entry predicts {e.predicted} but the vote of task {e.model_hash} chose {vote.winning_answer!r}")
    posted = contracts.beacon.contract.events.ChainPosted().get_logs(
        from_block=contracts.manifest.deploy_block, argument_filters={"taskId": task_id})
    if not posted:
        return bad + [f"no chain of task {e.model_hash} found"]
    for log in posted:
        chain = log["args"]["chainId"]
        try:
            request = DetectionRequest.decode(bytes(log["args"]["payload"]))
        except PayloadError as exc:
            bad.append(f"chain {chain} of task {e.model_hash} is not a detection request ({exc})")
            continue
        if request.window_id != e.window_id:
            bad.append(f"chain {chain} asked about window #{request.window_id}, "
                       f"the entry is in window #{e.window_id}")
        if request.pool.lower() != e.pool.lower() or request.horizon != e.horizon or request.t0 != e.t0:
            bad.append(f"chain {chain} asked about {request.pool} from {request.t0} over "
                       f"{request.horizon} s, the entry logs {e.pool} from {e.t0} over {e.horizon} s")
    return bad
