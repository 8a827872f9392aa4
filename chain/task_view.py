"""What the chain says about one task: each chain and step with its bids, executors and deliveries, and the vote.

Why a module of its own: `symphony task show`, the explorer and the cast audit guide all describe the same record,
and it is read from the contracts' own views only (no event-log search), so a third party's `cast call`s can be
compared with it field by field. Steps are numbered from 0, as on chain.
"""

from __future__ import annotations

from typing import Any

from chain.bindings import SymphonyContracts
from core.errors import ConfigError

WAD = 10**18


def parse_task_id(text: str) -> bytes:
    """A task id as the user types it: the task number (`3`) or its bytes32 (`0x…03`)."""
    raw = text.strip()
    try:
        number = int(raw, 16) if raw.lower().startswith("0x") else int(raw)
    except ValueError:
        raise ConfigError(f"not a task id: {text!r} (give the task number, e.g. 3, or its 0x… bytes32)") from None
    if not 0 < number < 2**256:
        raise ConfigError(f"not a task id: {text!r} (task numbers start at 1)")
    return number.to_bytes(32, "big")


def task_record(contracts: SymphonyContracts, task_id: bytes) -> dict[str, Any]:
    """The whole task as plain data (scores and weights in units of 1.0, wei as integers)."""
    beacon, vote = contracts.beacon, contracts.vote
    number = int.from_bytes(task_id, "big")
    count = beacon.task_count()
    if not 1 <= number <= count:
        raise ConfigError(f"no task {number} on this chain (it has {count} task{'s' if count != 1 else ''})")
    task = beacon.get_task(task_id)
    chains = []
    for cot, ids in enumerate(beacon.task_beacons(task_id)):
        steps = []
        for step, beacon_id in enumerate(ids):
            info = beacon.get(beacon_id)
            steps.append({
                "step": step,
                "beacon": beacon_id,
                "final": info.is_final,
                "status": info.status.name.lower(),
                "reward_per_executor_wei": info.reward_per_executor,
                "bids": [{"agent": b.agent, "score": b.score / WAD, "newcomer": b.newcomer} for b in beacon.bids(beacon_id)],
                "executors": [{"agent": a, "delivered": beacon.has_delivered(beacon_id, a)} for a in beacon.executors(beacon_id)],
                "reassignment_rounds": info.rounds,
            })
        chain_id = task.first_chain + cot
        chains.append({"chain": cot, "chain_id": chain_id, "weight": beacon.chain_weight(chain_id) / WAD, "steps": steps})
    v = vote.get(task_id)
    return {
        "task": number,
        "task_id": "0x" + task_id.hex(),
        "requester": task.requester,
        "kind": "0x" + task.kind.hex(),
        "settled": task.settled,
        "cancelled": beacon.is_cancelled(task_id),
        "expected_voters": task.expected_voters,
        "chains": chains,
        "vote": {
            "phase": v.phase.name.lower(),
            "commits": v.commits,
            "reveals": v.reveals,
            "winning_answer": v.winning_answer,
            "winning_weight": v.winning_weight / WAD,
            "total_weight": v.total_weight / WAD,
            "voters": [{"beacon": x.beacon_id, "revealed": x.revealed, "abstained": x.abstained, "answer": x.answer}
                       for x in vote.voters(task_id)],
        },
    }


def format_record(record: dict[str, Any]) -> str:
    """The record for a terminal: one line per step, then the vote."""
    lines = [f"task {record['task']} ({record['task_id']}) by {record['requester']}: "
             f"{'settled' if record['settled'] else 'cancelled' if record['cancelled'] else 'open'}, "
             f"{record['expected_voters']} live voter slot(s)"]
    for c in record["chains"]:
        lines.append(f"chain {c['chain']} (weight {c['weight']:.3f})")
        for s in c["steps"]:
            who = ", ".join(f"{e['agent']}{'' if e['delivered'] else ' (not delivered)'}" for e in s["executors"]) or "-"
            best = max((b["score"] for b in s["bids"]), default=0.0)
            lines.append(f"  step {s['step']}{' final' if s['final'] else ''}  beacon {s['beacon']}  {s['status']:<9} "
                         f"{len(s['bids'])} bid(s), best score {best:.3f}  executor(s): {who}")
    v = record["vote"]
    lines.append(f"vote: {v['phase']}, {v['commits']} commit(s), {v['reveals']} reveal(s)"
                 + (f", winning answer {v['winning_answer']!r} with weight {v['winning_weight']:.3f} of {v['total_weight']:.3f}"
                    if v["reveals"] else ""))
    return "\n".join(lines)


def cancel_task(contracts: SymphonyContracts, task_id: bytes) -> str:
    """End a task its requester (the signer) left open: cancel it on chain (unassigned steps closed, escrow
    credited), reclaim assigned steps already past their deadline, withdraw the refunds; one line of what is left.
    Refuses, in one line, a task of another requester or one already settled or cancelled."""
    from chain.bindings.beacon import BeaconStatus

    beacon = contracts.beacon
    record = task_record(contracts, task_id)  # also refuses a task number the chain does not have
    me = contracts.client.address
    if record["requester"].lower() != me.lower():
        raise ConfigError(f"task {record['task']} was posted by {record['requester']}, not by this key ({me})")
    if record["settled"] or record["cancelled"]:
        raise ConfigError(f"task {record['task']} is already {'settled' if record['settled'] else 'cancelled'}")
    beacon.cancel_task(task_id)
    now = int(contracts.client.w3.eth.get_block("latest")["timestamp"])
    reclaimed = waiting = 0
    for ids in beacon.task_beacons(task_id):
        for beacon_id in ids:
            info = beacon.get(beacon_id)
            if info.status != BeaconStatus.ASSIGNED:
                continue
            if now > info.exec_deadline:
                beacon.reclaim_expired(beacon_id)
                reclaimed += 1
            else:
                waiting += 1
    refund = beacon.credits(me)
    if refund:
        beacon.withdraw_credit()
    return (f"cancelled task {record['task']}: {reclaimed} late step(s) reclaimed, {waiting} still assigned (paid if "
            f"delivered by their deadline, reclaimable after it), {refund} wei refunded")
