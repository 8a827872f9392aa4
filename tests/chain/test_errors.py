"""Every refusal of the core contracts reaches Python as the exception named after its custom error.

Each test provokes errors through the typed bindings and checks that nothing changed. The last test checks that
this file covers every custom error the three contracts declare (a few are only reachable with a contract that
rejects ether, by re-entry, or not at all from outside the protocol; the forge suites cover those and they are
listed).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from eth_account import Account

from chain import reverts
from chain.bindings import SymphonyContracts
from chain.bindings.beacon import ChainSpec, task_value
from chain.bindings.vote import commitment
from chain.client import ChainClient
from tests.chain.helpers import STAKE, near, register, vector

# TransferFailed / Reentrancy need a contract party; AlreadySettled guards a call only VoteCommitment makes, once;
# InsufficientGas needs a gas limit below what estimation gives.
FORGE_ONLY = {"TransferFailed", "Reentrancy", "AlreadySettled", "InsufficientGas"}


def err(name: str):
    return pytest.raises(reverts.revert_class(name))


@pytest.fixture
def parties(chain):
    requester = chain.contracts(0)
    agents = [chain.contracts(i) for i in (1, 2, 3)]
    return chain, requester, agents


def _one(requirement: bytes, payload: bytes = b"{}") -> list[ChainSpec]:
    return [ChainSpec((requirement,), payload)]


def _assigned(chain, requester, agents, *, executors=1, steps=1, exec_window=300, reward=0):
    """A one-chain task whose first step is assigned; returns (task, requirements)."""
    requirement = vector(5)
    for i, a in enumerate(agents):
        register(a, f"a{i}", near(requirement, 10 + 10 * i, i))
    reqs = tuple(requirement for _ in range(steps))
    task = requester.beacon.post_task([ChainSpec(reqs, b"{}")], bid_window=10, exec_window=exec_window, executors=executors, reward=reward)
    for a in agents:
        for s in range(steps):
            a.beacon.bid(task.beacon(0, s), reqs)
    chain.node.increase_time(11)
    requester.beacon.close(task.beacon(0, 0))
    return task, reqs


def _by_address(agents, address):
    return next(a for a in agents if a.client.address == address)


# -- CapabilityLedger --------------------------------------------------------------------------------------
def test_insufficient_stake(parties):
    _, _, (a, *_) = parties
    with err("InsufficientStake") as info:
        a.ledger.register("x", "m", "e", [], vector(1), 1, STAKE - 1)
    assert info.value.args_dict == {"sent": STAKE - 1, "minimum": STAKE}
    assert not a.ledger.is_active(a.client.address)


def test_already_registered_and_not_registered(parties):
    _, _, (a, b, _) = parties
    register(a, "a", vector(1))
    with err("AlreadyRegistered"):
        register(a, "a", vector(1))
    with err("NotRegistered"):
        b.ledger.heartbeat(True)
    with err("NotRegistered"):
        b.ledger.update("m", "e", [], vector(2), 1)
    with err("NotRegistered"):
        b.ledger.deregister()


def test_profile_and_stake_validation(parties):
    _, _, (a, *_) = parties
    with err("ZeroCapability"):
        a.ledger.register("x", "m", "e", [], bytes(32), 1, STAKE)
    with err("TooManyTags"):
        a.ledger.register("x", "m", "e", [f"t{i}" for i in range(17)], vector(1), 1, STAKE)
    with err("StringTooLong"):
        a.ledger.register("x" * 257, "m", "e", [], vector(1), 1, STAKE)
    with err("InvalidCapacity"):
        a.ledger.register("x", "m", "e", [], vector(1), 0, STAKE)
    register(a, "a", vector(1), capacity=2)
    with err("InvalidStake"):
        a.ledger.add_stake(0)


def test_stake_withdrawal_rules(parties):
    chain, requester, agents = parties
    a, b, _ = agents
    with err("NothingToWithdraw"):
        b.ledger.withdraw_stake()
    task, _ = _assigned(chain, requester, agents)
    holder = _by_address(agents, requester.beacon.executors(task.beacon(0, 0))[0])
    with err("AgentStillActive"):
        holder.ledger.withdraw_stake()
    holder.ledger.deregister()
    with err("CooldownActive"):
        holder.ledger.withdraw_stake()
    chain.node.increase_time(61)
    with err("AssignmentsOpen"):  # it could still be slashed for the step it holds
        holder.ledger.withdraw_stake()
    chain.node.increase_time(300)
    requester.beacon.reclaim_expired(task.beacon(0, 0))  # timed out: slashed, capacity released
    left = holder.ledger.stake(holder.client.address)
    assert left == STAKE - holder.ledger.slash_unit()
    before = holder.client.balance()
    receipt = holder.ledger.withdraw_stake()
    assert holder.client.balance() == before + left - receipt["gasUsed"] * receipt["effectiveGasPrice"]


def test_only_owner_and_authorised_protocols(parties):
    _, requester, (a, *_) = parties
    register(a, "a", vector(1))
    with err("NotOwner"):
        a.ledger.set_authorized(a.client.address, True)
    with err("NotAuthorized"):
        a.ledger.adjust_reputation(a.client.address, 10**18)
    with err("NotAuthorized"):
        requester.ledger.adjust_reputation(a.client.address, 10**18)  # even the owner is no protocol


# -- TaskBeacon --------------------------------------------------------------------------------------------
def test_post_validation(parties):
    chain, requester, _ = parties
    limit = chain.manifest.parameters["max_payload_bytes"]
    b = requester.beacon
    with err("PayloadTooLarge"):
        b.post_task(_one(vector(1), b"x" * (limit + 1)), bid_window=10, exec_window=10)
    with err("InvalidExecutors"):
        b.post_task(_one(vector(1)), bid_window=10, exec_window=10, executors=0)
    with err("InvalidExecutors"):
        b.post_task(_one(vector(1)), bid_window=10, exec_window=10, executors=9)
    with err("InvalidWindow"):
        b.post_task(_one(vector(1)), bid_window=0, exec_window=10)
    with err("InvalidChains"):
        b.post_task([], bid_window=10, exec_window=10)
    with err("InvalidSteps"):
        b.post_task([ChainSpec((), b"")], bid_window=10, exec_window=10)
    with err("TooManyVoters"):
        b.post_task(_one(vector(1)) * 9, bid_window=10, exec_window=10, executors=2)
    spec = (bytes(32), 10, 10, 1, 1000)
    with err("WrongValue"):  # the value must include the 10 % posting fee
        requester.client.transact(b.contract.functions.postTask(spec, [([vector(1)], b"")]), value=1000)
    assert b.task_count() == 0
    task = b.post_task(_one(vector(1)), bid_window=10, exec_window=10, reward=1000)
    assert requester.client.balance(b.address) == task_value(1000, 1, 1) == 1100
    with err("UnknownTask"):
        b.get_task(bytes(31) + b"\x09")


def test_unknown_beacon_and_requirements(parties):
    _, requester, (a, *_) = parties
    register(a, "a", vector(1))
    with err("UnknownBeacon"):
        a.beacon.bid(77, [vector(1)])
    with err("UnknownBeacon"):
        requester.beacon.close(77)
    with err("UnknownBeacon"):
        requester.beacon.get(77)
    task = requester.beacon.post_task(_one(vector(1)), bid_window=10, exec_window=10)
    with err("RequirementsMismatch"):  # the vectors a bid passes back must be the posted ones
        a.beacon.bid(task.beacon(0, 0), [vector(2)])
    with err("RequesterCannotBid"):
        requester.beacon.bid(task.beacon(0, 0), [vector(1)])


def test_bidding_rules(parties):
    chain, requester, (a, b, c) = parties
    register(a, "a", vector(1))
    register(b, "b", vector(2))
    task = requester.beacon.post_task(_one(vector(1)), bid_window=10, exec_window=10)
    beacon = task.beacon(0, 0)
    with err("AgentNotAvailable"):
        c.beacon.bid(beacon, [vector(1)])  # not registered
    b.ledger.heartbeat(False)
    with err("AgentNotAvailable"):
        b.beacon.bid(beacon, [vector(1)])  # registered but said it is not available
    a.beacon.bid(beacon, [vector(1)])
    with err("AlreadyBid"):
        a.beacon.bid(beacon, [vector(1)])
    with err("BiddingOpen"):
        requester.beacon.close(beacon)
    chain.node.increase_time(11)
    with err("BiddingClosed"):
        b.beacon.bid(beacon, [vector(1)])
    requester.beacon.close(beacon)
    with err("WrongStatus"):
        requester.beacon.close(beacon)


def test_full_book_displaces_and_refuses_only_the_lowest(parties):
    """A full book (16 bids) takes a better bid by displacing the lowest; a bid below all of them is refused."""
    chain, requester, _ = parties
    requirement = vector(1)
    task = requester.beacon.post_task(_one(requirement), bid_window=600, exec_window=10)
    beacon = task.beacon(0, 0)
    funder = chain.client(0)
    bidders = []
    for i in range(18):
        account = Account.create()
        chain.node.rpc("anvil_setBalance", [account.address, hex(10**18)])
        contracts = SymphonyContracts.bind(ChainClient(chain.node.rpc_url, account.key.to_0x_hex(), w3=funder.w3), chain.manifest)
        # i = 0..15: middling matches; 16: worse than all; 17: better than all
        noise = 60 if i < 16 else (120 if i == 16 else 2)
        register(contracts, f"b{i}", near(requirement, noise, i))
        bidders.append(contracts)
    for contracts in bidders[:16]:
        contracts.beacon.bid(beacon, [requirement])
    with err("BidTooLow"):
        bidders[16].beacon.bid(beacon, [requirement])
    bidders[17].beacon.bid(beacon, [requirement])
    book = [bid.agent for bid in requester.beacon.bids(beacon)]
    assert len(book) == 16 and bidders[17].client.address in book


def test_step_order_and_delivery_rules(parties):
    chain, requester, agents = parties
    task, _ = _assigned(chain, requester, agents, executors=2, steps=2)
    first, final = task.beacon(0, 0), task.beacon(0, 1)
    with err("PredecessorPending"):
        requester.beacon.close(final)
    winners = requester.beacon.executors(first)
    executor = _by_address(agents, winners[0])
    outsider = next(a for a in agents if a.client.address not in winners)
    with err("NotAssigned"):
        outsider.beacon.submit_result(first, b"r")
    with err("EmptyResult"):
        executor.beacon.submit_result(first, b"")
    with err("PayloadTooLarge"):
        executor.beacon.submit_result(first, b"x" * (chain.manifest.parameters["max_payload_bytes"] + 1))
    with err("NotFinal"):
        executor.beacon.commit_result(first, os.urandom(32))
    with err("DeadlineNotPassed"):
        requester.beacon.reclaim_expired(first)
    executor.beacon.submit_result(first, b"r")
    with err("AlreadySubmitted"):
        executor.beacon.submit_result(first, b"r2")
    assert requester.beacon.has_delivered(first, executor.client.address)
    with err("FinalStep"):  # the final step is delivered as a vote commitment
        executor.beacon.submit_result(final, b"r")
    with err("NotRequester"):
        executor.beacon.reopen(first, 10, reward=0, executors=2)


def test_cancel_rules(parties):
    chain, requester, agents = parties
    task, _ = _assigned(chain, requester, agents, executors=1, steps=2)
    with err("NotRequester"):
        agents[0].beacon.cancel_task(task.task_id)
    requester.beacon.cancel_task(task.task_id)
    with err("TaskIsCancelled"):
        requester.beacon.cancel_task(task.task_id)
    with err("TaskIsCancelled"):
        requester.beacon.reopen(task.beacon(0, 1), 10, reward=0, executors=1)
    with err("UnknownTask"):
        requester.beacon.cancel_task((99).to_bytes(32, "big"))


def test_deadline_passed(parties):
    chain, requester, agents = parties
    task, _ = _assigned(chain, requester, agents, executors=1, exec_window=20)
    executor = _by_address(agents, requester.beacon.executors(task.beacon(0, 0))[0])
    chain.node.increase_time(21)
    with err("DeadlinePassed"):
        executor.beacon.commit_result(task.beacon(0, 0), os.urandom(32))


def test_protocol_hooks_refuse_outsiders(parties):
    chain, requester, (a, *_) = parties
    with err("AlreadyBound"):
        requester.client.transact(requester.beacon.contract.functions.bindVote(a.client.address))
    with err("NotVoteContract"):
        a.client.transact(a.beacon.contract.functions.settle(bytes(31) + b"\x01", [], True))
    with err("NotTaskBeacon"):
        a.client.transact(a.vote.contract.functions.recordCommitment(bytes(32), 8, 0, a.client.address, os.urandom(32), 1))
    with err("NothingToWithdraw"):
        requester.beacon.withdraw_credit()


# -- VoteCommitment ----------------------------------------------------------------------------------------
def test_vote_rules(parties):
    chain, requester, agents = parties
    task, _ = _assigned(chain, requester, agents, executors=2)
    beacon = task.beacon(0, 0)
    v1, v2 = [_by_address(agents, x) for x in requester.beacon.executors(beacon)]
    outsider = next(a for a in agents if a not in (v1, v2))
    tid, salt = task.task_id, os.urandom(32)
    with err("WrongPhase"):
        v1.vote.reveal(tid, "4", b"r", salt)  # no vote yet
    v1.beacon.commit_result(beacon, commitment(tid, v1.client.address, "4", b"r", salt))
    with err("CommitWindowOpen"):
        requester.vote.start_reveal(tid)  # nobody, the requester included, ends the commit phase early
    v2.beacon.commit_result(beacon, commitment(tid, v2.client.address, "5", b"r", salt))  # last live slot: reveal phase
    with err("CommitmentMismatch"):
        outsider.vote.reveal(tid, "4", b"r", salt)
    with err("CommitmentMismatch"):
        v1.vote.reveal(tid, "5", b"r", salt)  # not the delivered answer
    with err("CommitmentMismatch"):
        v1.vote.reveal(tid, "4", b"other result", salt)  # not the delivered result
    with err("AnswerTooLong"):
        v1.vote.reveal(tid, "x" * 129, b"r", salt)
    with err("ResultTooLong"):
        v1.vote.reveal(tid, "4", b"x" * 8193, salt)
    v1.vote.reveal(tid, "4", b"r", salt)
    with err("AlreadyRevealed"):
        v1.vote.reveal(tid, "4", b"r", salt)
    with err("RevealNotOver"):
        requester.vote.finalize(tid)
    chain.node.increase_time(chain.manifest.parameters["reveal_window_s"] + 1)
    with err("RevealWindowOver"):
        v2.vote.reveal(tid, "5", b"r", salt)
    requester.vote.finalize(tid)
    with err("WrongPhase"):
        requester.vote.finalize(tid)
    assert requester.vote.get(tid).winning_answer == "4"
    assert requester.beacon.get_task(tid).settled


def test_every_declared_error_is_exercised(artifacts):
    declared = {item["name"] for name in ("CapabilityLedger", "TaskBeacon", "VoteCommitment") for item in artifacts[name].abi if item["type"] == "error"}
    source = Path(__file__).read_text()
    exercised = {name for name in declared if f'err("{name}")' in source}
    assert declared - exercised - FORGE_ONLY == set()
