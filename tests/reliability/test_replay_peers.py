"""Issue #15, misbehaving peers: one that replays another agent's old transactions.

Anyone can read every signed transaction off the chain and send its bytes again — to the same chain or to another
one. What must hold: a replay is refused by the node (the nonce is spent; EIP-155 binds the signature to its chain),
nothing changes on either chain, and the owner of the transaction can go on as before.
"""

from __future__ import annotations

import pytest
from web3 import Web3

from agents.payloads import SubtaskPayload
from chain.bindings.beacon import ChainSpec
from chain.node import AnvilNode

pytestmark = pytest.mark.faults


def _post(contracts) -> bytes:  # noqa: ANN001 - SymphonyContracts
    payload = SubtaskPayload("What is 2 + 3?", ("Answer the question.",), 0, (), final=True).encode(8192)
    task = contracts.beacon.post_task([ChainSpec((b"\x01" * 32,), payload)], bid_window=60, exec_window=300, executors=1)
    return task.receipt["transactionHash"]


def _tasks_posted(contracts) -> int:  # noqa: ANN001
    return len(contracts.beacon.contract.events.TaskPosted().get_logs(from_block=0))


def test_a_replayed_transaction_is_refused_on_its_chain_and_on_another(chain):
    requester = chain.contracts(4)
    tx_hash = _post(requester)
    raw = requester.client.w3.eth.get_raw_transaction(tx_hash)  # what any peer can read off the chain
    before = (_tasks_posted(requester), requester.client.balance(), requester.client.w3.eth.get_transaction_count(requester.client.address))

    peer = Web3(Web3.HTTPProvider(chain.node.rpc_url))  # a third party, no key of its own needed
    answer = peer.provider.make_request("eth_sendRawTransaction", [raw.to_0x_hex()])
    assert "nonce too low" in answer["error"]["message"].lower(), answer
    assert (_tasks_posted(requester), requester.client.balance(),
            requester.client.w3.eth.get_transaction_count(requester.client.address)) == before, "nothing changed"

    with AnvilNode(chain_id=requester.client.chain_id + 1) as other:  # the same dev accounts, another chain id
        other_w3 = Web3(Web3.HTTPProvider(other.rpc_url))
        sender = requester.client.address
        assert other_w3.eth.get_balance(sender) > 0, "the sender has funds there too: only the chain id stops it"
        answer = other_w3.provider.make_request("eth_sendRawTransaction", [raw.to_0x_hex()])
        assert "chain id" in answer.get("error", {}).get("message", "").lower(), answer
        assert other_w3.eth.get_transaction_count(sender) == 0 and other_w3.eth.block_number == 0

    _post(requester)  # the owner goes on as before: its next transaction is mined
    assert _tasks_posted(requester) == before[0] + 1
