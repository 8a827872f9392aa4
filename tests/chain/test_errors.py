"""Every refusal of the core contracts reaches Python as the exception named after its custom error.

Each test provokes one error through the typed bindings and checks that nothing changed. The last test checks
that this file covers every custom error the three contracts declare (a few are only reachable with a
contract that rejects ether or with dozens of voters; the forge suites cover those and they are listed).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from eth_account import Account

from chain import reverts
from chain.bindings import SymphonyContracts
from chain.client import ChainClient
from tests.chain.helpers import STAKE, near, register, vector

TASK = bytes.fromhex("ab" * 32)
COT = bytes(32)
FORGE_ONLY = {"TransferFailed", "TooManyVoters", "Reentrancy"}


def err(name: str):
    return pytest.raises(reverts.revert_class(name))


@pytest.fixture
def parties(chain):
    requester = chain.contracts(0)
    agents = [chain.contracts(i) for i in (1, 2, 3)]
    return chain, requester, agents


def _assigned_beacon(chain, requester, agents, *, executors=1, final=True, exec_window=300):
    requirement = vector(5)
    for i, a in enumerate(agents):
        register(a, f"a{i}", near(requirement, 10 + 10 * i, i))
    beacon_id, _ = requester.beacon.post(TASK, 0, 0, requirement, b"{}", bid_window=10, exec_window=exec_window, executors=executors, is_final=final)
    for a in agents:
        a.beacon.bid(beacon_id)
    chain.node.increase_time(11)
    requester.beacon.close(beacon_id)
    return beacon_id


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
        b.ledger.heartbeat(True, 1)
    with err("NotRegistered"):
        b.ledger.update("m", "e", [], vector(2), 1)
    with err("NotRegistered"):
        b.ledger.deregister()


def test_profile_validation(parties):
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
    with err("InvalidCapacity"):
        a.ledger.heartbeat(True, 3)


def test_stake_withdrawal_rules(parties):
    chain, _, (a, b, _) = parties
    with err("NothingToWithdraw"):
        b.ledger.withdraw_stake()
    register(a, "a", vector(1))
    with err("AgentStillActive"):
        a.ledger.withdraw_stake()
    a.ledger.deregister()
    with err("CooldownActive"):
        a.ledger.withdraw_stake()
    chain.node.increase_time(61)
    before = a.client.balance()
    receipt = a.ledger.withdraw_stake()
    assert a.client.balance() == before + STAKE - receipt["gasUsed"] * receipt["effectiveGasPrice"]


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
    with err("PayloadTooLarge"):
        requester.beacon.post(TASK, 0, 0, vector(1), b"x" * (limit + 1), bid_window=10, exec_window=10)
    with err("InvalidExecutors"):
        requester.beacon.post(TASK, 0, 0, vector(1), b"{}", bid_window=10, exec_window=10, executors=0)
    with err("InvalidExecutors"):
        requester.beacon.post(TASK, 0, 0, vector(1), b"{}", bid_window=10, exec_window=10, executors=9)
    with err("InvalidWindow"):
        requester.beacon.post(TASK, 0, 0, vector(1), b"{}", bid_window=0, exec_window=10)
    chain.node.rpc("anvil_setBalance", [requester.client.address, hex(2**97)])
    with err("RewardTooLarge"):
        requester.beacon.post(TASK, 0, 0, vector(1), b"{}", bid_window=10, exec_window=10, reward=2**96)
    assert requester.beacon.count() == 0


def test_task_ids_belong_to_their_requester(parties):
    _, requester, (a, *_) = parties
    requester.beacon.post(TASK, 0, 0, vector(1), b"{}", bid_window=10, exec_window=10)
    with err("NotTaskRequester"):  # nobody can inject a (final) beacon into someone else's task
        a.beacon.post(TASK, 1, 0, vector(1), b"{}", bid_window=10, exec_window=10, is_final=True)
    with err("NotTaskRequester"):
        a.beacon.open_task(TASK, 5)
    requester.beacon.open_task(TASK, 3)
    assert requester.beacon.task_requester(TASK) == requester.client.address
    assert requester.beacon.expected_voters(TASK) == 3


def test_unknown_beacon(parties):
    _, requester, (a, *_) = parties
    register(a, "a", vector(1))
    with err("UnknownBeacon"):
        a.beacon.bid(77)
    with err("UnknownBeacon"):
        requester.beacon.close(77)
    with err("UnknownBeacon"):
        requester.beacon.get(77)


def test_bidding_rules(parties):
    chain, requester, (a, b, c) = parties
    register(a, "a", vector(1))
    register(b, "b", vector(2))
    beacon_id, _ = requester.beacon.post(TASK, 0, 0, vector(1), b"{}", bid_window=10, exec_window=10)
    with err("AgentNotAvailable"):
        c.beacon.bid(beacon_id)  # not registered
    b.ledger.heartbeat(False, 0)
    with err("AgentNotAvailable"):
        b.beacon.bid(beacon_id)  # registered but said it is busy
    a.beacon.bid(beacon_id)
    with err("AlreadyBid"):
        a.beacon.bid(beacon_id)
    with err("BiddingOpen"):
        requester.beacon.close(beacon_id)
    chain.node.increase_time(11)
    with err("BiddingClosed"):
        b.beacon.bid(beacon_id)
    requester.beacon.close(beacon_id)
    with err("WrongStatus"):
        requester.beacon.close(beacon_id)


def test_too_many_bids(parties):
    chain, requester, _ = parties
    beacon_id, _ = requester.beacon.post(TASK, 0, 0, vector(1), b"{}", bid_window=600, exec_window=10)
    funder = chain.client(0)
    bidders = []
    for i in range(33):
        account = Account.create()
        chain.node.rpc("anvil_setBalance", [account.address, hex(10**18)])
        contracts = SymphonyContracts.bind(ChainClient(chain.node.rpc_url, account.key.to_0x_hex(), w3=funder.w3), chain.manifest)
        register(contracts, f"b{i}", vector(100 + i))
        bidders.append(contracts)
    for contracts in bidders[:32]:
        contracts.beacon.bid(beacon_id)
    with err("TooManyBids"):
        bidders[32].beacon.bid(beacon_id)


def test_result_rules(parties):
    chain, requester, agents = parties
    beacon_id = _assigned_beacon(chain, requester, agents, executors=2)
    winners = requester.beacon.executors(beacon_id)
    executor = next(a for a in agents if a.client.address == winners[0])
    outsider = next(a for a in agents if a.client.address not in winners)
    with err("NotAssigned"):
        outsider.beacon.submit_result(beacon_id, b"r")
    with err("PayloadTooLarge"):
        executor.beacon.submit_result(beacon_id, b"x" * (chain.manifest.parameters["max_payload_bytes"] + 1))
    with err("DeadlineNotPassed"):
        requester.beacon.reclaim_expired(beacon_id)
    executor.beacon.submit_result(beacon_id, b"r")
    with err("AlreadySubmitted"):
        executor.beacon.submit_result(beacon_id, b"r2")
    assert requester.beacon.result_hash(beacon_id, executor.client.address) != bytes(32)


def test_deadline_passed(parties):
    chain, requester, agents = parties
    beacon_id = _assigned_beacon(chain, requester, agents, executors=1, exec_window=20)
    winner = requester.beacon.executors(beacon_id)[0]
    executor = next(a for a in agents if a.client.address == winner)
    chain.node.increase_time(21)
    with err("DeadlinePassed"):
        executor.beacon.submit_result(beacon_id, b"late")


# -- VoteCommitment ----------------------------------------------------------------------------------------
def test_vote_rules(parties):
    chain, requester, agents = parties
    beacon_id = _assigned_beacon(chain, requester, agents, executors=2)
    voters = [a for a in agents if a.client.address in requester.beacon.executors(beacon_id)]
    outsider = next(a for a in agents if a not in voters)
    v1, v2 = voters
    salt = os.urandom(32)
    with err("NotFinalExecutor"):
        outsider.vote.commit(TASK, beacon_id, "4", COT, salt)
    with err("ResultNotDelivered"):
        v1.vote.commit(TASK, beacon_id, "4", COT, salt)
    v1.beacon.submit_result(beacon_id, b"r1")
    v2.beacon.submit_result(beacon_id, b"r2")
    with err("WrongPhase"):
        v1.vote.reveal(TASK, "4", COT, salt)  # no vote yet
    v1.vote.commit(TASK, beacon_id, "4", COT, salt)
    with err("AlreadyCommitted"):
        v1.vote.commit(TASK, beacon_id, "4", COT, salt)
    with err("CommitWindowOpen"):
        outsider.vote.start_reveal(TASK)  # only the task's requester may end the commit phase early
    v2.vote.commit(TASK, beacon_id, "5", COT, salt)  # last expected voter: reveal phase starts
    with err("NoCommitment"):
        outsider.vote.reveal(TASK, "4", COT, salt)
    with err("CommitmentMismatch"):
        v1.vote.reveal(TASK, "5", COT, salt)
    with err("AnswerTooLong"):
        v1.vote.reveal(TASK, "x" * 129, COT, salt)
    v1.vote.reveal(TASK, "4", COT, salt)
    with err("AlreadyRevealed"):
        v1.vote.reveal(TASK, "4", COT, salt)
    with err("RevealNotOver"):
        requester.vote.finalize(TASK)
    chain.node.increase_time(chain.manifest.parameters["reveal_window_s"] + 1)
    with err("RevealWindowOver"):
        v2.vote.reveal(TASK, "5", COT, salt)
    requester.vote.finalize(TASK)
    with err("WrongPhase"):
        requester.vote.finalize(TASK)
    assert requester.vote.get(TASK).winning_answer == "4"


def test_commit_window_over(parties):
    chain, requester, agents = parties
    beacon_id = _assigned_beacon(chain, requester, agents, executors=2)
    v1, v2 = [a for a in agents if a.client.address in requester.beacon.executors(beacon_id)]
    for v in (v1, v2):
        v.beacon.submit_result(beacon_id, b"r")
    v1.vote.commit(TASK, beacon_id, "4", COT, bytes(32))
    chain.node.increase_time(chain.manifest.parameters["commit_window_s"] + 1)
    with err("CommitWindowOver"):
        v2.vote.commit(TASK, beacon_id, "4", COT, bytes(32))


def test_every_declared_error_is_exercised(artifacts):
    declared = {item["name"] for name in ("CapabilityLedger", "TaskBeacon", "VoteCommitment") for item in artifacts[name].abi if item["type"] == "error"}
    source = Path(__file__).read_text()
    exercised = {name for name in declared if f'err("{name}")' in source}
    assert declared - exercised - FORGE_ONLY == set()
